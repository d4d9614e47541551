// penguiflow + vitest: a user runs the public conformance suites on an adapter (here the in-memory reference ones).
import { InMemoryMessageBus, InMemoryStateStore } from 'penguiflow/memory';
import { describeMessageBus, describeStateStore } from 'penguiflow/testing';

describeStateStore({ name: 'InMemoryStateStore (from the tarball)', create: () => new InMemoryStateStore(), destroy: async () => undefined });
describeMessageBus({ name: 'InMemoryMessageBus (from the tarball)', create: () => new InMemoryMessageBus(), destroy: async () => undefined });
