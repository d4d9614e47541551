/** Push-config operations: configs live in the task's metadata (durable), cached on the running task. */
import { randomUUID } from 'node:crypto';
import type { StateStore } from '../../protocols/state-store.js';
import type { TaskRecord, TaskStore } from '../../protocols/store-capabilities.js';
import { A2AProtocolError, invalidParams } from '../protocol/errors.js';
import type { TaskPushNotificationConfig } from '../protocol/types.js';
import type { StoredPushConfig } from './push-notifier.js';

export const PUSH_METADATA = 'push';

export function pushConfigsOf(record: TaskRecord): StoredPushConfig[] {
  const v = record.metadata[PUSH_METADATA];
  return Array.isArray(v) ? (v as StoredPushConfig[]) : [];
}

function toWireConfig(taskId: string, c: StoredPushConfig): TaskPushNotificationConfig {
  const out: TaskPushNotificationConfig = { taskId, id: c.id, url: c.url };
  if (c.token) out.token = c.token;
  if (c.authentication) out.authentication = c.authentication;
  return out;
}

export class PushConfigs {
  constructor(
    private readonly store: StateStore & TaskStore,
    private readonly active: (taskId: string) => { push: StoredPushConfig[] } | undefined,
    private readonly allowUrl: ((url: URL) => boolean | Promise<boolean>) | undefined,
  ) {}

  private async record(tenant: string, taskId: string): Promise<TaskRecord> {
    const record = await this.store.getTask(taskId, { tenant });
    if (!record) throw new A2AProtocolError('TASK_NOT_FOUND', { metadata: { taskId } });
    return record;
  }

  private async save(tenant: string, record: TaskRecord, configs: StoredPushConfig[]): Promise<void> {
    await this.store.updateTask(record.id, { tenant }, { metadata: { ...record.metadata, [PUSH_METADATA]: configs } });
    const a = this.active(record.id);
    if (a) a.push = configs;
  }

  async create(tenant: string, cfg: TaskPushNotificationConfig): Promise<TaskPushNotificationConfig> {
    if (this.allowUrl && !(await this.allowUrl(new URL(cfg.url)))) throw invalidParams('url', 'is not an allowed webhook URL');
    const record = await this.record(tenant, cfg.taskId);
    const stored: StoredPushConfig = { id: cfg.id || randomUUID(), url: cfg.url };
    if (cfg.token) stored.token = cfg.token;
    if (cfg.authentication) stored.authentication = cfg.authentication;
    await this.save(tenant, record, [...pushConfigsOf(record).filter((c) => c.id !== stored.id), stored]);
    return toWireConfig(record.id, stored);
  }

  async get(tenant: string, taskId: string, id: string): Promise<TaskPushNotificationConfig> {
    const record = await this.record(tenant, taskId);
    const found = pushConfigsOf(record).find((c) => c.id === id);
    if (!found) throw new A2AProtocolError('TASK_NOT_FOUND', { message: `No push notification config ${id} on task ${taskId}`, metadata: { taskId, pushConfigId: id } });
    return toWireConfig(taskId, found);
  }

  async list(tenant: string, taskId: string): Promise<{ configs: TaskPushNotificationConfig[]; nextPageToken: string }> {
    const record = await this.record(tenant, taskId);
    return { configs: pushConfigsOf(record).map((c) => toWireConfig(taskId, c)), nextPageToken: '' };
  }

  async delete(tenant: string, taskId: string, id: string): Promise<void> {
    const record = await this.record(tenant, taskId);
    const configs = pushConfigsOf(record);
    if (configs.some((c) => c.id === id)) await this.save(tenant, record, configs.filter((c) => c.id !== id));
  }
}

