import { Router } from 'express';
import type { SlipwayConfig } from '../../config/schema.js';
import { requireScope } from '../auth.js';

export function serviceRoutes(config: SlipwayConfig): Router {
  const router = Router();
  router.get('/', (req, res) => {
    requireScope(req.principal, 'read');
    res.json({ items: Object.entries(config.services).map(([name, s]) => ({ name, environments: Object.keys(s.environments) })) });
  });
  return router;
}
