/* System: service health and metrics, users and roles, API tokens, the audit log, one's own
 * password. */
import { Alert, App, Badge, Button, Card, Descriptions, Flex, Form, Input, InputNumber, Modal, Popconfirm, Select, Switch, Table, Tabs, Tag, Typography } from 'antd';
import { useMemo, useState } from 'react';
import { describeError } from '../api/client';
import type { ApiToken, AuditEntry, Role, User } from '../api/types';
import { useApi, useApp, useCan } from '../app';
import { EmptyState, ErrorState, Loading, StaleWarning } from '../components/States';
import { When } from '../components/Tags';
import { formatNumber, formatTime, parsePrometheus } from '../lib/format';
import { usePoll } from '../lib/usePoll';

const ROLES: { value: Role; label: string }[] = [
  { value: 'read-only', label: 'Read-only: sees everything, changes nothing' },
  { value: 'analyst', label: 'Analyst: triage, whitelist, rules, tasks' },
  { value: 'admin', label: 'Admin: also users and the audit log' },
];

const HEALTH: Record<string, 'success' | 'error' | 'warning'> = { ok: 'success', failing: 'error', unreachable: 'warning' };

function Services() {
  const api = useApi();
  const res = usePoll((s) => api.systemStatus(s), [], 10_000);
  if (res.loading && !res.data) return <Loading what="service health" />;
  if (!res.data) return <ErrorState error={res.error} retry={res.reload} what="service health" />;
  const d = res.data;
  const rows = d.services.flatMap((s) => (s.instances.length ? s.instances.map((i) => ({ key: `${s.name}-${i.health_addr}`, name: s.name, ...i })) : [{ key: s.name, name: s.name, ip: '', port: 0, health_addr: '', weight: 0, health: 'unreachable' as const, health_status: 0 }]));
  const ingest = Object.entries(d.manager.ingest ?? {});
  return (
    <>
      <StaleWarning error={res.error} retry={res.reload} />
      {!d.discovery_reachable && <Alert type="error" showIcon title="Service discovery does not answer: the services below may be out of date." style={{ marginBottom: 12 }} />}
      <Card size="small" title={`This manager: ${d.manager.instance}`} style={{ marginBottom: 16 }}>
        <Descriptions size="small" column={4}>
          <Descriptions.Item label="Version">{d.manager.version}</Descriptions.Item>
          <Descriptions.Item label="MongoDB"><Badge status={d.manager.mongo.status === 'ok' ? 'success' : 'error'} text={d.manager.mongo.status} />{d.manager.mongo.error ? <span className="muted"> {d.manager.mongo.error}</span> : null}</Descriptions.Item>
          <Descriptions.Item label="Redis"><Badge status={d.manager.redis.status === 'ok' ? 'success' : 'error'} text={d.manager.redis.status} /></Descriptions.Item>
          {ingest.map(([k, v]) => (
            <Descriptions.Item key={k} label={`Ingest ${k}`}>{typeof v === 'object' ? JSON.stringify(v) : String(v)}</Descriptions.Item>
          ))}
        </Descriptions>
      </Card>
      <Table
        size="small"
        rowKey="key"
        dataSource={rows}
        pagination={false}
        data-testid="services"
        locale={{ emptyText: 'No service is registered in service discovery.' }}
        columns={[
          { title: 'Service', dataIndex: 'name' },
          { title: 'Instance', key: 'i', render: (_, r) => <span className="mono">{r.ip ? `${r.ip}:${r.port}` : '–'}</span> },
          { title: 'Health', key: 'h', render: (_, r) => <Badge status={HEALTH[r.health] ?? 'warning'} text={r.health === 'ok' ? 'Healthy' : r.health === 'failing' ? `Failing (HTTP ${r.health_status})` : 'Unreachable'} /> },
          { title: 'Health address', dataIndex: 'health_addr', render: (v) => <span className="mono">{v || '–'}</span> },
          { title: 'Weight', dataIndex: 'weight' },
        ]}
      />
    </>
  );
}

function Metrics() {
  const api = useApi();
  const res = usePoll((s) => api.metrics(s), [], 10_000);
  const [filter, setFilter] = useState('rampart_manager');
  const rows = useMemo(() => parsePrometheus(res.data ?? '').filter((m) => m.name.includes(filter)), [res.data, filter]);
  if (res.loading && !res.data) return <Loading what="metrics" />;
  if (!res.data) return <ErrorState error={res.error} retry={res.reload} what="the manager's metrics (/metrics)" />;
  return (
    <>
      <Flex gap={8} className="filters">
        <Input aria-label="Metric name contains" value={filter} onChange={(e) => setFilter(e.target.value)} style={{ width: 320 }} placeholder="metric name contains" />
        <Typography.Text type="secondary">The manager's Prometheus metrics, refreshed every 10 s. Scrape /metrics for history.</Typography.Text>
      </Flex>
      <Table size="small" rowKey={(r) => r.name + r.labels} dataSource={rows} pagination={{ pageSize: 50 }} columns={[
        { title: 'Metric', dataIndex: 'name', render: (v) => <span className="mono">{v}</span> },
        { title: 'Labels', dataIndex: 'labels', render: (v) => <span className="mono">{v}</span> },
        { title: 'Value', dataIndex: 'value', align: 'right', render: (v: number) => formatNumber(v) },
      ]} />
    </>
  );
}

function Users() {
  const api = useApi();
  const { session } = useApp();
  const { message } = App.useApp();
  const res = usePoll((s) => api.users(s), [], 30_000);
  const [open, setOpen] = useState(false);
  const [form] = Form.useForm<{ username: string; password: string; role: Role }>();
  const run = async (what: string, fn: () => Promise<unknown>) => {
    try {
      await fn();
      message.success(what);
      res.reload();
    } catch (e) {
      message.error(describeError(e));
    }
  };
  if (!res.data && res.error) return <ErrorState error={res.error} retry={res.reload} what="users" />;
  return (
    <>
      <Flex justify="end" style={{ marginBottom: 12 }}>
        <Button type="primary" onClick={() => setOpen(true)}>New user</Button>
      </Flex>
      <Table<User>
        size="small"
        rowKey="username"
        loading={res.loading}
        dataSource={res.data?.items ?? []}
        pagination={false}
        columns={[
          { title: 'User', dataIndex: 'username' },
          { title: 'Role', key: 'role', render: (_, u) => <Select<Role> aria-label={`Role of ${u.username}`} value={u.role} disabled={u.username === session?.user.username} style={{ width: 140 }} onChange={(role) => run(`${u.username} is now ${role}`, () => api.updateUser(u.username, { role }))} options={ROLES.map((r) => ({ value: r.value, label: r.value }))} /> },
          { title: 'Enabled', key: 'dis', render: (_, u) => <Switch aria-label={`${u.username} enabled`} checked={!u.disabled} disabled={u.username === session?.user.username} onChange={(on) => run(`${u.username} ${on ? 'enabled' : 'disabled'}`, () => api.updateUser(u.username, { disabled: !on }))} /> },
          { title: 'Created', key: 'c', render: (_, u) => <When ms={u.created_at as number | undefined} /> },
          {
            title: '',
            key: 'x',
            render: (_, u) =>
              u.username === session?.user.username ? <Tag>you</Tag> : (
                <Popconfirm title={`Delete ${u.username}?`} description="Their API tokens are deleted too." okText="Delete" okButtonProps={{ danger: true }} onConfirm={() => run(`${u.username} deleted`, () => api.deleteUser(u.username))}>
                  <Button size="small" danger>Delete</Button>
                </Popconfirm>
              ),
          },
        ]}
      />
      <Modal open={open} title="New user" okText="Create" onCancel={() => setOpen(false)} destroyOnHidden onOk={async () => { const v = await form.validateFields(); await run(`User ${v.username} created`, () => api.createUser(v.username, v.password, v.role)); setOpen(false); form.resetFields(); }}>
        <Form form={form} layout="vertical" initialValues={{ role: 'analyst' }}>
          <Form.Item name="username" label="User name" rules={[{ required: true, pattern: /^[A-Za-z0-9_.-]{1,64}$/, message: '1-64 letters, digits, _ . -' }]}><Input autoComplete="off" /></Form.Item>
          <Form.Item name="password" label="Password" rules={[{ required: true, min: 12, message: 'At least 12 characters' }]}><Input.Password autoComplete="new-password" /></Form.Item>
          <Form.Item name="role" label="Role"><Select options={ROLES} /></Form.Item>
        </Form>
      </Modal>
    </>
  );
}

function Tokens() {
  const api = useApi();
  const { message } = App.useApp();
  const res = usePoll((s) => api.tokens(s), [], 30_000);
  const [open, setOpen] = useState(false);
  const [shown, setShown] = useState<string | null>(null);
  const [form] = Form.useForm<{ name: string; role?: Role; days?: number }>();
  if (!res.data && res.error) return <ErrorState error={res.error} retry={res.reload} what="API tokens" />;
  return (
    <>
      <Flex justify="space-between" style={{ marginBottom: 12 }}>
        <Typography.Text type="secondary">Tokens for automation (scripts, SIEM). Send as Authorization: Bearer rpt_… .</Typography.Text>
        <Button type="primary" onClick={() => setOpen(true)}>New token</Button>
      </Flex>
      {shown && <Alert type="success" showIcon closable onClose={() => setShown(null)} style={{ marginBottom: 12 }} title="Copy the token now: it is shown once." description={<Typography.Text copyable className="mono">{shown}</Typography.Text>} />}
      <Table<ApiToken>
        size="small"
        rowKey="id"
        loading={res.loading}
        dataSource={res.data?.items ?? []}
        pagination={false}
        locale={{ emptyText: <EmptyState>No API token.</EmptyState> }}
        columns={[
          { title: 'Name', dataIndex: 'name' },
          { title: 'Owner', dataIndex: 'owner' },
          { title: 'Role', dataIndex: 'role' },
          { title: 'Id', key: 'id', render: (_, t) => <span className="mono">{t.id.slice(0, 12)}…</span> },
          { title: 'Created', key: 'c', render: (_, t) => <When ms={t.created_at} /> },
          { title: 'Expires', key: 'e', render: (_, t) => (t.expires_at ? formatTime(t.expires_at) : 'never') },
          { title: '', key: 'x', render: (_, t) => <Popconfirm title="Revoke this token?" okText="Revoke" okButtonProps={{ danger: true }} onConfirm={async () => { try { await api.deleteToken(t.id); message.success('Token revoked'); res.reload(); } catch (e) { message.error(describeError(e)); } }}><Button size="small" danger>Revoke</Button></Popconfirm> },
        ]}
      />
      <Modal open={open} title="New API token" okText="Create" onCancel={() => setOpen(false)} destroyOnHidden onOk={async () => { const v = await form.validateFields(); try { const t = await api.createToken(v.name, v.role, v.days || undefined); setShown(t.token); setOpen(false); form.resetFields(); res.reload(); } catch (e) { message.error(describeError(e)); } }}>
        <Form form={form} layout="vertical">
          <Form.Item name="name" label="Name" rules={[{ required: true, max: 64 }]}><Input placeholder="siem-export" /></Form.Item>
          <Form.Item name="role" label="Role (at most yours)"><Select allowClear placeholder="same as mine" options={ROLES} /></Form.Item>
          <Form.Item name="days" label="Expires after (days, empty: never)"><InputNumber min={1} max={3650} style={{ width: '100%' }} /></Form.Item>
        </Form>
      </Modal>
    </>
  );
}

function Audit() {
  const api = useApi();
  const [actor, setActor] = useState('');
  const [page, setPage] = useState({ n: 1, size: 20 });
  const res = usePoll((s) => api.audit({ actor: actor || undefined, limit: page.size, offset: (page.n - 1) * page.size }, s), [actor, page.n, page.size], 15_000);
  if (!res.data && res.error) return <ErrorState error={res.error} retry={res.reload} what="the audit log" />;
  return (
    <>
      <Flex gap={8} className="filters">
        <Input.Search aria-label="Actor" placeholder="Actor (user name)" allowClear onSearch={(v) => { setActor(v.trim()); setPage({ ...page, n: 1 }); }} style={{ width: 240 }} />
        <Typography.Text type="secondary">Every change and every login, newest first.</Typography.Text>
      </Flex>
      <Table<AuditEntry>
        size="small"
        rowKey="id"
        loading={res.loading}
        dataSource={res.data?.items ?? []}
        pagination={{ current: page.n, pageSize: page.size, total: res.data?.total ?? 0, onChange: (n, size) => setPage({ n, size }), showTotal: (t) => `${formatNumber(t)} entries` }}
        expandable={{ expandedRowRender: (e) => <pre className="raw-json">{JSON.stringify(e, null, 2)}</pre> }}
        columns={[
          { title: 'When', key: 'at', render: (_, e) => formatTime(e.at) },
          { title: 'Actor', key: 'a', render: (_, e) => <>{e.actor} <Tag>{e.role}</Tag></> },
          { title: 'Request', key: 'r', render: (_, e) => <span className="mono">{e.method} {e.path}</span> },
          { title: 'Status', key: 's', render: (_, e) => <Tag color={(e.status ?? 0) < 300 ? 'success' : (e.status ?? 0) < 500 ? 'warning' : 'error'}>{e.status}</Tag> },
          { title: 'Target', dataIndex: 'target', render: (v) => <span className="mono">{v || '–'}</span> },
          { title: 'From', dataIndex: 'peer', render: (v) => <span className="mono">{v}</span> },
        ]}
      />
    </>
  );
}

function Account() {
  const api = useApi();
  const { client, setSession } = useApp();
  const { message } = App.useApp();
  const [form] = Form.useForm<{ old: string; next: string; again: string }>();
  return (
    <Card size="small" title="Change my password" style={{ maxWidth: 480 }}>
      <Form form={form} layout="vertical" onFinish={async (v) => { try { await api.changePassword(v.old, v.next); message.success('Password changed. Log in again.'); await client.logout(); setSession(null); } catch (e) { message.error(describeError(e)); } }}>
        <Form.Item name="old" label="Current password" rules={[{ required: true }]}><Input.Password autoComplete="current-password" /></Form.Item>
        <Form.Item name="next" label="New password" rules={[{ required: true, min: 12, message: 'At least 12 characters' }]}><Input.Password autoComplete="new-password" /></Form.Item>
        <Form.Item name="again" label="New password again" dependencies={['next']} rules={[{ required: true }, ({ getFieldValue }) => ({ validator: async (_, v) => { if (v !== getFieldValue('next')) throw new Error('The two passwords differ'); } })]}><Input.Password autoComplete="new-password" /></Form.Item>
        <Button type="primary" htmlType="submit">Change password</Button>
      </Form>
    </Card>
  );
}

export default function System() {
  const isAdmin = useCan('admin');
  return (
    <div data-testid="page-system">
      <Typography.Title level={3} className="page-title">System</Typography.Title>
      <Tabs
        destroyOnHidden
        items={[
          { key: 'services', label: 'Service health', children: <Services /> },
          { key: 'metrics', label: 'Metrics', children: <Metrics /> },
          ...(isAdmin ? [{ key: 'users', label: 'Users and roles', children: <Users /> }] : []),
          { key: 'tokens', label: 'API tokens', children: <Tokens /> },
          ...(isAdmin ? [{ key: 'audit', label: 'Audit log', children: <Audit /> }] : []),
          { key: 'account', label: 'My account', children: <Account /> },
        ]}
      />
    </div>
  );
}
