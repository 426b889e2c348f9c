/**
 * Work written as a generator yields between steps, so a server can answer
 * requests in between (see `writeStateGradually`, `addPreparedGradually`);
 * callers that need the result now run it to the end in one go.
 */

/** Run `steps` to the end without pausing, and return what it returns. */
export function runSteps<R>(steps: Generator<unknown, R>): R {
  for (let step = steps.next(); ; step = steps.next()) if (step.done) return step.value;
}
