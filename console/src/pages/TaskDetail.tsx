/* One task: progress over its hosts, and each host's status and result. */
import { Breadcrumb, Card, Descriptions, Select, Table, Tag, Typography } from 'antd';
import { useState } from 'react';
import { Link, useParams } from 'react-router';
import type { Subtask, SubtaskStatus } from '../api/types';
import { useApi } from '../app';
import { ErrorState, Loading, StaleWarning } from '../components/States';
import { When } from '../components/Tags';
import { TaskBar, TaskCounts } from '../components/TaskProgress';
import { formatTime, plural, SUBTASK_LABEL, TASK_LABEL } from '../lib/format';
import { usePoll } from '../lib/usePoll';

const STATUS_COLOR: Record<string, string> = { pending: 'default', dispatching: 'default', sent: 'processing', succeed: 'success', failed: 'error', undeliverable: 'warning' };

export default function TaskDetail() {
  const { id = '' } = useParams();
  const api = useApi();
  const [status, setStatus] = useState<SubtaskStatus | undefined>();
  const [page, setPage] = useState({ n: 1, size: 20 });
  const [done, setDone] = useState(false);
  const task = usePoll(
    async (s) => {
      const t = await api.task(id, s);
      setDone(!!t.done);
      return t;
    },
    [id],
    done ? 0 : 2_000,
  );
  const hosts = usePoll((s) => api.taskHosts(id, { status, limit: page.size, offset: (page.n - 1) * page.size }, s), [id, status, page.n, page.size, task.updatedAt], 0);
  if (task.loading && !task.data) return <Loading what="the task" />;
  if (!task.data) return <ErrorState error={task.error} retry={task.reload} what="the task" />;
  const t = task.data;
  return (
    <div data-testid="page-task" data-done={t.done ? 'yes' : 'no'}>
      <Breadcrumb items={[{ title: <Link to="/tasks">Tasks</Link> }, { title: TASK_LABEL[t.type] ?? t.type }]} style={{ marginBottom: 8 }} />
      <Typography.Title level={3} className="page-title">
        {TASK_LABEL[t.type] ?? t.type} <Tag>{t.done ? 'finished' : 'running'}</Tag>
      </Typography.Title>
      <StaleWarning error={task.error} retry={task.reload} />
      <Card size="small" style={{ marginBottom: 16 }}>
        <Descriptions size="small" column={4}>
          <Descriptions.Item label="Task id"><span className="mono">{t.id}</span></Descriptions.Item>
          <Descriptions.Item label="Hosts">{t.hosts}</Descriptions.Item>
          <Descriptions.Item label="Created">{formatTime(t.created_at)} by {t.created_by ?? '?'}</Descriptions.Item>
          <Descriptions.Item label="Parameters"><span className="mono">{t.data || '{}'}</span></Descriptions.Item>
        </Descriptions>
        <TaskBar task={t} />
        <TaskCounts task={t} />
      </Card>
      <Card size="small" title="Per host" extra={<Select aria-label="Filter by status" allowClear placeholder="Any status" style={{ width: 200 }} value={status} onChange={(v) => { setStatus(v); setPage({ ...page, n: 1 }); }} options={(['pending', 'sent', 'succeed', 'failed', 'undeliverable'] as SubtaskStatus[]).map((s) => ({ value: s, label: SUBTASK_LABEL[s] }))} />}>
        {hosts.error && !hosts.data ? (
          <ErrorState error={hosts.error} retry={hosts.reload} what="the hosts of this task" />
        ) : (
          <Table<Subtask>
            rowKey="token"
            size="small"
            loading={hosts.loading}
            dataSource={hosts.data?.items ?? []}
            pagination={{ current: page.n, pageSize: page.size, total: hosts.data?.total ?? 0, onChange: (n, size) => setPage({ n, size }), showTotal: (x) => plural(x, 'host') }}
            columns={[
              { title: 'Host', key: 'h', render: (_, s) => <Link to={`/hosts/${encodeURIComponent(s.agent_id)}`}>{s.agent_id}</Link> },
              { title: 'Status', key: 's', render: (_, s) => <Tag color={STATUS_COLOR[s.status]} data-testid="subtask-status">{SUBTASK_LABEL[s.status] ?? s.status}</Tag> },
              { title: 'Attempts', dataIndex: 'attempts', width: 90 },
              { title: 'Message', key: 'm', render: (_, s) => <span className="mono">{s.msg || '–'}</span> },
              { title: 'Result', key: 'r', render: (_, s) => (s.result === undefined || s.result === null || s.result === '' ? '–' : <span className="mono">{typeof s.result === 'string' ? s.result : JSON.stringify(s.result)}</span>) },
              { title: 'Updated', key: 'u', width: 120, render: (_, s) => <When ms={s.updated_at} /> },
            ]}
          />
        )}
      </Card>
    </div>
  );
}
