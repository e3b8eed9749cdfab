/* Tasks: what was sent to hosts, by whom, and how far each one got. */
import { Flex, Table, Typography } from 'antd';
import { useState } from 'react';
import { Link } from 'react-router';
import type { Task } from '../api/types';
import { useApi } from '../app';
import { CreateTaskButton } from '../components/CreateTask';
import { EmptyState, ErrorState, StaleWarning } from '../components/States';
import { When } from '../components/Tags';
import { TaskBar } from '../components/TaskProgress';
import { plural, TASK_LABEL } from '../lib/format';
import { usePoll } from '../lib/usePoll';

export default function Tasks() {
  const api = useApi();
  const [page, setPage] = useState({ n: 1, size: 10 });
  /* The list has no counts: each visible task's progress is its own request. */
  const res = usePoll(
    async (s) => {
      const list = await api.tasks({ limit: page.size, offset: (page.n - 1) * page.size }, s);
      const items = await Promise.all(list.items.map((t) => api.task(t.id, s).catch(() => t)));
      return { ...list, items };
    },
    [page.n, page.size],
    3_000,
  );
  return (
    <div data-testid="page-tasks">
      <Flex justify="space-between" align="center">
        <Typography.Title level={3} className="page-title">
          Tasks
        </Typography.Title>
        <CreateTaskButton />
      </Flex>
      <StaleWarning error={res.data ? res.error : null} retry={res.reload} />
      {!res.data && res.error ? (
        <ErrorState error={res.error} retry={res.reload} what="tasks" />
      ) : (
        <Table<Task>
          rowKey="id"
          loading={res.loading}
          dataSource={res.data?.items ?? []}
          locale={{ emptyText: <EmptyState>No task yet. Create one to collect assets, kill a process, quarantine a file or scan.</EmptyState> }}
          pagination={{ current: page.n, pageSize: page.size, total: res.data?.total ?? 0, onChange: (n, size) => setPage({ n, size }), showTotal: (t) => plural(t, 'task') }}
          columns={[
            { title: 'Task', key: 'type', render: (_, t) => <Link to={`/tasks/${t.id}`}>{TASK_LABEL[t.type] ?? t.type}</Link> },
            { title: 'Parameters', key: 'data', render: (_, t) => <span className="mono">{t.data && t.data !== '{}' ? t.data : '–'}</span> },
            { title: 'Hosts', dataIndex: 'hosts', width: 80 },
            { title: 'Progress', key: 'p', width: 260, render: (_, t) => (t.counts ? <TaskBar task={t} /> : '–') },
            { title: 'By', dataIndex: 'created_by', width: 120 },
            { title: 'Created', key: 'c', width: 130, render: (_, t) => <When ms={t.created_at} /> },
          ]}
        />
      )}
    </div>
  );
}
