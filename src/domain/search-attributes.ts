import type { SearchAttributeKey } from '@temporalio/common/lib/search-attributes';

/** Slipway's search attributes, so the Temporal UI can filter runs by them. */
const keyword = (name: string) => ({ name, type: 'KEYWORD' }) as SearchAttributeKey<'KEYWORD'>;

export const SEARCH_ATTRIBUTES = {
  service: keyword('SlipwayService'),
  environment: keyword('SlipwayEnvironment'),
  version: keyword('SlipwayVersion'),
  status: keyword('SlipwayStatus'),
};
