import { afterEach, beforeEach, describe } from '../peers/vitest.js';
import type { StateStore } from '../protocols/state-store.js';
import { bindingTests } from './state-store/bindings.js';
import { STATE_STORE_SECTIONS, uniqueId, type StateStoreSection, type SuiteContext } from './state-store/context.js';
import { eventTests } from './state-store/events.js';
import { artifactTests, memoryTests, plannerTests, steeringTests } from './state-store/extras.js';
import { leaseTests } from './state-store/leases.js';
import { listingTests } from './state-store/listing.js';
import { taskTests } from './state-store/tasks.js';

export { STATE_STORE_SECTIONS, makeEvent, type StateStoreSection, type SuiteContext } from './state-store/context.js';

export interface StateStoreSuiteOptions<S extends StateStore = StateStore> {
  /** Shown in the describe title, e.g. `"SqliteStateStore"`. */
  name: string;
  /**
   * Called before every test: return a ready store. Tests use fresh tenants and
   * ids, so stores MAY share data between tests (a Postgres schema per file),
   * except that `prune` test events are stamped two days in the past.
   */
  create: () => S | Promise<S>;
  /** Called after every test; defaults to `store.close?.()`. */
  destroy?: (store: S) => void | Promise<void>;
  /**
   * Skip everything with a reason (e.g. `"postgres not reachable"`), or skip
   * sections with a reason each. A skip without a reason is not accepted.
   */
  skip?: string | Partial<Record<StateStoreSection, string>>;
  /** Backend-specific tests, run inside the suite's `describe` with the same store lifecycle. */
  additionalTests?: (ctx: Omit<SuiteContext, 'store'> & { store(): S }) => void;
}

const SECTION_TESTS: Record<StateStoreSection, (ctx: SuiteContext) => void> = {
  events: eventTests,
  listing: listingTests,
  bindings: bindingTests,
  tasks: taskTests,
  leases: leaseTests,
  planner: plannerTests,
  memory: memoryTests,
  artifacts: artifactTests,
  steering: steeringTests,
};

/**
 * The public StateStore conformance suite. Every store (memory, SQLite,
 * Postgres, yours) runs the same tests; optional capabilities a store lacks
 * are skipped with the reason shown (via the `has…` type guards).
 *
 * @example
 * import { describeStateStore } from 'penguiflow/testing';
 * describeStateStore({ name: 'MyStore', create: () => new MyStore(), destroy: (s) => s.close() });
 */
export function describeStateStore<S extends StateStore>(options: StateStoreSuiteOptions<S>): void {
  const wholeSkip = typeof options.skip === 'string' ? options.skip : undefined;
  const sectionSkips = typeof options.skip === 'object' ? options.skip : {};
  const title = wholeSkip ? `StateStore conformance: ${options.name} (skipped: ${wholeSkip})` : `StateStore conformance: ${options.name}`;

  describe.skipIf(wholeSkip !== undefined)(title, () => {
    let current: S | undefined;
    const ctx: SuiteContext & { store(): S } = {
      store() {
        if (!current) throw new Error('describeStateStore: no store (create() failed?)');
        return current;
      },
      tenant: () => uniqueId('tenant'),
      id: uniqueId,
      base: Date.now(),
      skip(test, reason) {
        return test.skip(reason);
      },
    };

    beforeEach(async () => {
      current = await options.create();
    });
    afterEach(async () => {
      const store = current;
      current = undefined;
      if (!store) return;
      if (options.destroy) await options.destroy(store);
      else await store.close?.();
    });

    for (const section of STATE_STORE_SECTIONS) {
      const reason = sectionSkips[section];
      describe.skipIf(reason !== undefined)(reason ? `${section} (skipped: ${reason})` : section, () => {
        SECTION_TESTS[section](ctx);
      });
    }
    if (options.additionalTests) describe(`${options.name}: additional`, () => options.additionalTests!(ctx));
  });
}
