import { InvalidFlowError, UnknownNodeError } from '../errors/index.js';
import { Node, type EdgeSpec } from './node.js';

/** The validated shape of a flow: nodes by name, successors, entry nodes. */
export interface FlowGraph {
  nodes: Map<string, Node>;
  successors: Map<string, string[]>;
  predecessors: Map<string, string[]>;
  /** Nodes with no predecessors: where `flow.emit` sends by default. */
  entries: string[];
}

/**
 * Builds and checks the graph. Throws at build time (never at run time) for
 * duplicate names, unknown successors and cycles that were not allowed.
 */
export function buildGraph(specs: readonly (EdgeSpec | Node)[], allowCycles: boolean): FlowGraph {
  const nodes = new Map<string, Node>();
  const add = (n: Node) => {
    const existing = nodes.get(n.name);
    if (existing !== undefined && existing !== n) throw new InvalidFlowError(`Two different nodes are named "${n.name}"`);
    nodes.set(n.name, n);
  };
  for (const spec of specs) {
    if (spec instanceof Node) add(spec);
    else if (spec && spec.from instanceof Node) {
      add(spec.from);
      for (const t of spec.to) if (t instanceof Node) add(t);
    } else throw new InvalidFlowError('createFlow takes nodes and `a.to(b)` edge specs');
  }
  if (nodes.size === 0) throw new InvalidFlowError('A flow needs at least one node');

  const successors = new Map<string, string[]>();
  const predecessors = new Map<string, string[]>();
  for (const name of nodes.keys()) {
    successors.set(name, []);
    predecessors.set(name, []);
  }
  for (const spec of specs) {
    if (spec instanceof Node) continue;
    const from = spec.from.name;
    for (const t of spec.to) {
      const to = typeof t === 'string' ? t : t.name;
      if (!nodes.has(to)) {
        throw new UnknownNodeError(`Node "${from}" sends to "${to}", but the flow has no node of that name`, {
          details: { from, to, known: [...nodes.keys()] },
        });
      }
      if (to === from && !spec.from.policy.allowCycle && !allowCycles) {
        throw new InvalidFlowError(`Node "${from}" sends to itself; set policy.allowCycle to allow it`);
      }
      const out = successors.get(from)!;
      if (!out.includes(to)) {
        out.push(to);
        if (to !== from) predecessors.get(to)!.push(from);
      }
    }
  }
  if (!allowCycles) {
    const cycle = findCycle(successors);
    if (cycle) throw new InvalidFlowError(`The flow has a cycle: ${cycle.join(' -> ')}; pass allowCycles to allow it`, { details: { cycle } });
  }
  const entries = [...nodes.keys()].filter((n) => predecessors.get(n)!.length === 0);
  if (entries.length === 0) throw new InvalidFlowError('The flow has no entry node (every node has a predecessor)');
  return { nodes, successors, predecessors, entries };
}

/** Depth-first search for a cycle, ignoring self-loops (checked separately). */
function findCycle(successors: Map<string, string[]>): string[] | undefined {
  const state = new Map<string, 1 | 2>();
  const stack: string[] = [];
  const visit = (n: string): string[] | undefined => {
    state.set(n, 1);
    stack.push(n);
    for (const s of successors.get(n) ?? []) {
      if (s === n) continue;
      const st = state.get(s);
      if (st === 1) return [...stack.slice(stack.indexOf(s)), s];
      if (st === undefined) {
        const found = visit(s);
        if (found) return found;
      }
    }
    stack.pop();
    state.set(n, 2);
    return undefined;
  };
  for (const n of successors.keys()) {
    if (state.get(n) === undefined) {
      const found = visit(n);
      if (found) return found;
    }
  }
  return undefined;
}
