import { DefaultFailureConverter } from '@temporalio/common';

/**
 * Failure messages and stack traces go into the failure's encoded attributes, a payload, so
 * that the payload codec encrypts them like every other payload: a step's error can quote
 * what a host printed, and that may be a secret. Loaded by path (`failureConverterPath`),
 * because workflows convert their failures inside the workflow sandbox.
 */
export const failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
