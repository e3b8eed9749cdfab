/* Progress of one task: a bar over its hosts and the counts per status, refreshed every 2 s
 * until every host has answered. */
import { Flex, Progress, Tag } from 'antd';
import { useState } from 'react';
import type { SubtaskStatus, Task } from '../api/types';
import { useApi } from '../app';
import { SUBTASK_LABEL } from '../lib/format';
import { usePoll } from '../lib/usePoll';

const COLORS: Record<SubtaskStatus, string> = {
  pending: 'default',
  sent: 'processing',
  succeed: 'success',
  failed: 'error',
  undeliverable: 'warning',
};

export function taskPercent(t: Pick<Task, 'hosts' | 'counts'>): number {
  const c = t.counts;
  if (!c || !t.hosts) return 0;
  return Math.min(100, Math.round(((c.succeed + c.failed + c.undeliverable) / t.hosts) * 100));
}

export function TaskCounts({ task }: { task: Task }) {
  const c = task.counts;
  if (!c) return null;
  return (
    <Flex gap={4} wrap>
      {(Object.keys(COLORS) as SubtaskStatus[])
        .filter((k) => c[k])
        .map((k) => (
          <Tag key={k} color={COLORS[k]}>
            {SUBTASK_LABEL[k]}: {c[k]}
          </Tag>
        ))}
    </Flex>
  );
}

export function TaskBar({ task }: { task: Task }) {
  const c = task.counts;
  const bad = c ? c.failed + c.undeliverable : 0;
  return (
    <Progress
      percent={taskPercent(task)}
      status={task.done ? (bad ? 'exception' : 'success') : 'active'}
      aria-label={`Task progress ${taskPercent(task)}%`}
      format={(p) => (task.done ? (bad ? `${bad} failed` : 'Done') : `${p}%`)}
    />
  );
}

/* Live progress of a task by id (polls until done). */
export function LiveTask({ id, onDone }: { id: string; onDone?: (t: Task) => void }) {
  const api = useApi();
  const [done, setDone] = useState(false);
  const res = usePoll(
    async (s) => {
      const t = await api.task(id, s);
      if (t.done && !done) {
        setDone(true);
        onDone?.(t);
      }
      return t;
    },
    [id],
    done ? 0 : 2_000,
  );
  const t = res.data;
  if (!t) return <span className="muted">Sending the task…</span>;
  return (
    <div data-testid="task-progress" data-done={t.done ? 'yes' : 'no'}>
      <TaskBar task={t} />
      <TaskCounts task={t} />
    </div>
  );
}
