/**
 * The Kubernetes manifests in deploy/ parse, validate against the Kubernetes
 * OpenAPI schemas (kubernetes-models, offline) and KEDA's CRD schemas, and
 * agree with the code: probe paths are ops routes, ports line up, secrets are
 * references, containers run as non-root.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { ScaledObject, TriggerAuthentication } from '@kubernetes-models/keda/keda.sh/v1alpha1';
import { Deployment } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { ConfigMap, Service } from 'kubernetes-models/v1';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { createOpsHandler } from '../../src/observability/index.js';

const DEPLOY = path.resolve(import.meta.dirname, '../../deploy');

function yamlFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const full = path.join(dir, f);
    return statSync(full).isDirectory() ? yamlFiles(full) : /\.ya?ml$/.test(f) ? [full] : [];
  });
}

type Doc = Record<string, any> & { kind: string; file: string };
const docs: Doc[] = yamlFiles(DEPLOY).flatMap((file) =>
  parseAllDocuments(readFileSync(file, 'utf8')).map((d) => {
    if (d.errors.length > 0) throw new Error(`${file}: ${d.errors.map((e) => e.message).join('; ')}`);
    return { ...(d.toJS() as Record<string, any>), file: path.relative(DEPLOY, file) } as Doc;
  }),
);
const ofKind = (kind: string) => docs.filter((d) => d.kind === kind);
const strip = ({ file: _file, ...doc }: Doc): any => doc;

const VALIDATORS: Record<string, (doc: any) => { validate(): void }> = {
  Deployment: (d) => new Deployment(d),
  HorizontalPodAutoscaler: (d) => new HorizontalPodAutoscaler(d),
  Service: (d) => new Service(d),
  ConfigMap: (d) => new ConfigMap(d),
  ScaledObject: (d) => new ScaledObject(d),
  TriggerAuthentication: (d) => new TriggerAuthentication(d),
};

describe('deploy/ manifests', () => {
  it('every document parses and validates against its Kubernetes / KEDA schema', () => {
    expect(docs.length).toBeGreaterThanOrEqual(9);
    for (const doc of docs) {
      if (doc.kind === 'Kustomization') {
        // kustomize loads files only from the kustomization's own folder; other folders are referenced whole
        const dir = path.dirname(path.join(DEPLOY, doc.file));
        for (const r of doc.resources as string[]) {
          const target = path.join(dir, r);
          expect(existsSync(target), `${doc.file} → ${r}`).toBe(true);
          if (statSync(target).isFile()) expect(r.includes('/'), `${doc.file} → ${r} must be in its folder`).toBe(false);
          else expect(existsSync(path.join(target, 'kustomization.yaml')), `${doc.file} → ${r}/kustomization.yaml`).toBe(true);
        }
        continue;
      }
      const make = VALIDATORS[doc.kind];
      expect(make, `no validator for ${doc.kind} in ${doc.file}`).toBeDefined();
      expect(() => make!(strip(doc)).validate(), doc.file).not.toThrow();
    }
  });

  it('the validator catches real mistakes (so a pass means something)', () => {
    const worker = strip(ofKind('Deployment').find((d) => d.metadata.name === 'penguiflow-worker')!);
    const bad = structuredClone(worker);
    bad.spec.template.spec.containers[0].ports[0].containerPort = '9464';
    expect(() => new Deployment(bad).validate()).toThrow(/containerPort/);
    const bad2 = structuredClone(worker);
    delete bad2.spec.selector;
    expect(() => new Deployment(bad2).validate()).toThrow(/selector/);
  });

  it('probes hit the ops routes on a declared port; the metrics port matches the ConfigMap', async () => {
    const handled = (url: string) => createOpsHandler({ metrics: { handler: () => undefined }, ready: async () => true })({ method: 'GET', url } as never, { writeHead: () => undefined, end: () => undefined } as never);
    const config = ofKind('ConfigMap').find((c) => c.metadata.name === 'penguiflow-config')!;
    for (const d of ofKind('Deployment')) {
      const pod = d.spec.template.spec;
      for (const c of pod.containers) {
        const ports = new Map((c.ports as { name: string; containerPort: number }[]).map((p) => [p.name, p.containerPort]));
        expect(ports.get('metrics')).toBe(Number(config.data.PENGUIFLOW_METRICS_PORT));
        expect(d.spec.template.metadata.annotations['prometheus.io/port']).toBe(config.data.PENGUIFLOW_METRICS_PORT);
        for (const probe of ['startupProbe', 'livenessProbe', 'readinessProbe']) {
          const get = c[probe]?.httpGet as { path: string; port: string } | undefined;
          expect(get, `${d.metadata.name} ${probe}`).toBeDefined();
          expect(ports.has(get!.port), `${probe} port ${get!.port}`).toBe(true);
          expect(handled(get!.path), `${probe} path ${get!.path}`).toBe(true);
        }
        expect(c.readinessProbe.httpGet.path).toBe('/readyz');
        expect(c.livenessProbe.httpGet.path).toBe('/healthz');
      }
    }
  });

  it('secrets are references only; containers run as non-root with a read-only root FS', () => {
    const text = yamlFiles(DEPLOY).map((f) => readFileSync(f, 'utf8')).join('\n');
    expect(text).not.toMatch(/(postgres|postgresql|redis|rediss|nats|amqp):\/\/[^\s"'$]/); // no literal URLs with hosts or passwords
    expect(ofKind('Secret')).toEqual([]);
    for (const d of ofKind('Deployment')) {
      const pod = d.spec.template.spec;
      expect(pod.securityContext.runAsNonRoot).toBe(true);
      for (const c of pod.containers) {
        expect(c.securityContext.readOnlyRootFilesystem).toBe(true);
        expect(c.securityContext.allowPrivilegeEscalation).toBe(false);
        expect(c.image).not.toMatch(/:latest$|^[^:]+$/);
        for (const e of c.env as { name: string; value?: string; valueFrom?: { secretKeyRef?: unknown } }[]) {
          if (/URL|BUS|STORE|PASSWORD|TOKEN/.test(e.name)) expect(e.valueFrom?.secretKeyRef, e.name).toBeDefined();
        }
      }
    }
  });

  it('autoscalers target the worker Deployment; the worker has time to drain; the Service selects the server pods', () => {
    const worker = ofKind('Deployment').find((d) => d.metadata.name === 'penguiflow-worker')!;
    const server = ofKind('Deployment').find((d) => d.metadata.name === 'penguiflow-server')!;
    const hpa = ofKind('HorizontalPodAutoscaler')[0]!;
    expect(hpa.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: worker.metadata.name });
    expect(hpa.spec.metrics.map((m: { type: string }) => m.type)).toEqual(['Resource', 'Pods']);
    const scaled = ofKind('ScaledObject')[0]!;
    expect(scaled.spec.scaleTargetRef.name).toBe(worker.metadata.name);
    expect(scaled.spec.triggers.map((t: { type: string }) => t.type)).toEqual(['redis-streams', 'cpu']);
    expect(scaled.spec.triggers[0].metadata.consumerGroup).toMatch(/\.workers$/);
    expect(worker.spec.template.spec.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(60);
    expect(worker.spec.template.spec.containers[0].args.slice(0, 2)).toEqual(['worker', '--flow']);
    const svc = ofKind('Service')[0]!;
    expect(server.spec.template.metadata.labels).toMatchObject(svc.spec.selector);
    expect(Object.entries(svc.spec.selector).every(([k, v]) => worker.spec.template.metadata.labels[k] !== v || k !== 'app.kubernetes.io/name')).toBe(true);
    // both autoscalers are never applied together
    const hpaVariant = docs.find((d) => d.kind === 'Kustomization' && d.file === 'k8s/kustomization.yaml')!;
    const kedaVariant = docs.find((d) => d.kind === 'Kustomization' && d.file === 'k8s/keda/kustomization.yaml')!;
    expect(hpaVariant.resources).toEqual(['base', 'worker-hpa.yaml']);
    expect(kedaVariant.resources).toEqual(['../base', 'scaledobject.yaml']);
  });

  const kubectl = ['/usr/bin/kubectl', '/usr/local/bin/kubectl'].find((p) => existsSync(p));
  it.skipIf(!kubectl)('kubectl kustomize builds both variants (when kubectl is installed)', () => {
    const kinds = (dir: string) => execFileSync(kubectl!, ['kustomize', path.join(DEPLOY, dir)], { encoding: 'utf8' }).match(/^kind: \S+/gm)!.sort();
    expect(kinds('k8s')).toEqual(['kind: ConfigMap', 'kind: Deployment', 'kind: Deployment', 'kind: HorizontalPodAutoscaler', 'kind: Service']);
    expect(kinds('k8s/keda')).toEqual(['kind: ConfigMap', 'kind: Deployment', 'kind: Deployment', 'kind: ScaledObject', 'kind: Service', 'kind: TriggerAuthentication']);
  });

  it('the Dockerfile is multi-stage and runs as a non-root user', () => {
    const lines = readFileSync(path.join(DEPLOY, 'Dockerfile'), 'utf8').split('\n').filter((l) => !l.startsWith('#'));
    expect(lines.filter((l) => /^FROM /.test(l)).length).toBeGreaterThanOrEqual(2);
    const user = lines.filter((l) => /^USER /.test(l)).at(-1);
    expect(user).toBeDefined();
    expect(user).not.toMatch(/^USER (root|0)(:|$)/);
    expect(lines.some((l) => /^COPY --from=build/.test(l))).toBe(true);
  });
});
