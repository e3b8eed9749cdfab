/* One host: facts from its heartbeat, its alerts, its assets and its plugins. */
import { App, Badge, Breadcrumb, Button, Card, Col, Descriptions, Flex, Row, Select, Space, Table, Tabs, Tag, Typography } from 'antd';
import { useState } from 'react';
import { Link, useParams } from 'react-router';
import { describeError } from '../api/client';
import type { Host, Severity } from '../api/types';
import { useApi, useCan } from '../app';
import { AlertDrawer } from '../components/AlertDrawer';
import { AlertsTable } from '../components/AlertsTable';
import { AssetTable } from '../components/AssetTable';
import { CreateTaskButton } from '../components/CreateTask';
import { ErrorState, Loading, StaleWarning } from '../components/States';
import { OnlineBadge, SeverityTag, When } from '../components/Tags';
import { HOST_TABS, kindOf } from '../lib/assets';
import { formatBytes, formatTime, hostAddrs, osName } from '../lib/format';
import { SEVERITIES, type AlertFilters } from '../lib/query';
import { usePoll } from '../lib/usePoll';

/* A plugin is stale when it has not reported for three heartbeats (30 s by default each). */
export function pluginState(p: { last_seen?: number }, hostOnline: boolean, now: number): 'running' | 'stale' | 'unknown' {
  if (!hostOnline || !p.last_seen) return 'unknown';
  return now - p.last_seen > 90_000 ? 'stale' : 'running';
}

function Facts({ h }: { h: Host }) {
  const f = h.facts ?? {};
  return (
    <Descriptions size="small" column={3} bordered data-testid="host-facts">
      <Descriptions.Item label="Host name">{h.hostname || f.hostname || '–'}</Descriptions.Item>
      <Descriptions.Item label="Agent id"><span className="mono">{h.agent_id}</span></Descriptions.Item>
      <Descriptions.Item label="Status"><OnlineBadge online={h.online} />{!h.online && h.offline_since ? <span className="muted"> since {formatTime(h.offline_since)}</span> : null}</Descriptions.Item>
      <Descriptions.Item label="Operating system">{osName(f) || '–'}</Descriptions.Item>
      <Descriptions.Item label="Kernel">{f.kernel_version || '–'}</Descriptions.Item>
      <Descriptions.Item label="Architecture">{f.arch || '–'}</Descriptions.Item>
      <Descriptions.Item label="Intranet IPv4"><span className="mono">{hostAddrs(h, 'intranet_ipv4').join(', ') || '–'}</span></Descriptions.Item>
      <Descriptions.Item label="Extranet IPv4"><span className="mono">{hostAddrs(h, 'extranet_ipv4').join(', ') || '–'}</span></Descriptions.Item>
      <Descriptions.Item label="IPv6"><span className="mono">{hostAddrs(h, 'intranet_ipv6').join(', ') || '–'}</span></Descriptions.Item>
      <Descriptions.Item label="CPU">{f.cpu_name ? `${f.cpu_name} × ${f.nproc ?? '?'}` : f.nproc ? `${f.nproc} cores` : '–'}</Descriptions.Item>
      <Descriptions.Item label="Memory">{f.total_mem ? `${formatBytes(f.available_mem)} free of ${formatBytes(f.total_mem)}` : '–'}</Descriptions.Item>
      <Descriptions.Item label="Load">{f.load_1 ? `${f.load_1} / ${f.load_5} / ${f.load_15}` : '–'}</Descriptions.Item>
      <Descriptions.Item label="Agent version">{h.version || f.version || '–'}</Descriptions.Item>
      <Descriptions.Item label="Agent CPU / memory">{f.cpu ? `${f.cpu} % of a core` : '–'} / {formatBytes(f.rss)}</Descriptions.Item>
      <Descriptions.Item label="AgentCenter">{h.agent_center || '–'}</Descriptions.Item>
      <Descriptions.Item label="First seen">{formatTime(h.first_seen)}</Descriptions.Item>
      <Descriptions.Item label="Last heartbeat"><When ms={h.last_seen} /></Descriptions.Item>
      <Descriptions.Item label="Region / IDC">{[f.region, f.idc].filter(Boolean).join(' / ') || '–'}</Descriptions.Item>
    </Descriptions>
  );
}

function TagsEditor({ h, changed }: { h: Host; changed: () => void }) {
  const api = useApi();
  const canEdit = useCan('analyst');
  const { message } = App.useApp();
  const [editing, setEditing] = useState<string[] | null>(null);
  if (!canEdit || editing === null)
    return (
      <Space wrap>
        {(h.tags ?? []).length ? h.tags!.map((t) => <Tag key={t}>{t}</Tag>) : <span className="muted">No tags</span>}
        {canEdit && (
          <Button size="small" onClick={() => setEditing(h.tags ?? [])}>
            Edit tags
          </Button>
        )}
      </Space>
    );
  return (
    <Space>
      <Select mode="tags" aria-label="Tags" style={{ minWidth: 320 }} value={editing} onChange={setEditing} tokenSeparators={[',', ' ']} placeholder="web, prod, ..." />
      <Button
        type="primary"
        size="small"
        onClick={async () => {
          try {
            await api.setHostTags(h.agent_id, editing);
            message.success('Tags saved');
            setEditing(null);
            changed();
          } catch (e) {
            message.error(describeError(e));
          }
        }}
      >
        Save
      </Button>
      <Button size="small" onClick={() => setEditing(null)}>
        Cancel
      </Button>
    </Space>
  );
}

export default function HostDetail() {
  const { id = '' } = useParams();
  const api = useApi();
  const res = usePoll((s) => api.host(id, s), [id], 15_000);
  const [af, setAf] = useState<AlertFilters>({ agent_id: id });
  const [openAlert, setOpenAlert] = useState<string | null>(null);
  const [tab, setTab] = useState('alerts');
  if (res.loading && !res.data) return <Loading what="the host" />;
  if (!res.data) return <ErrorState error={res.error} retry={res.reload} what="the host" />;
  const h = res.data;
  const now = Date.now();
  const plugins = Object.entries(h.plugins ?? {}).map(([name, p]) => ({ name, ...p }));
  const open = h.open_alerts ?? {};

  return (
    <div data-testid="page-host">
      <Breadcrumb items={[{ title: <Link to="/hosts">Hosts</Link> }, { title: h.hostname || h.agent_id }]} style={{ marginBottom: 8 }} />
      <Flex justify="space-between" align="center">
        <Typography.Title level={3} className="page-title">
          {h.hostname || h.agent_id} <OnlineBadge online={h.online} />
        </Typography.Title>
        <CreateTaskButton hosts={[h.agent_id]} label="Run a task on this host" />
      </Flex>
      <StaleWarning error={res.error} retry={res.reload} />
      <Row gutter={16}>
        <Col span={18}>
          <Card size="small" title="Facts">
            <Facts h={h} />
          </Card>
        </Col>
        <Col span={6}>
          <Card size="small" title="Open alerts" style={{ marginBottom: 16 }}>
            <Flex gap={6} wrap data-testid="host-open-alerts">
              {SEVERITIES.filter((s) => open[s as Severity]).length ? (
                SEVERITIES.filter((s) => open[s as Severity]).map((s) => (
                  <span key={s}>
                    <SeverityTag severity={s} /> {open[s as Severity]}
                  </span>
                ))
              ) : (
                <span className="muted">None</span>
              )}
            </Flex>
          </Card>
          <Card size="small" title="Tags">
            <TagsEditor h={h} changed={res.reload} />
          </Card>
        </Col>
      </Row>
      <Card size="small" style={{ marginTop: 16 }}>
        <Tabs
          activeKey={tab}
          onChange={setTab}
          destroyOnHidden
          items={[
            { key: 'alerts', label: 'Alerts', children: <AlertsTable f={af} setF={(f) => setAf({ ...f, agent_id: id })} open={setOpenAlert} fixedHost /> },
            ...HOST_TABS.map((t) => ({ key: t, label: kindOf(t).label, children: <AssetTable type={t} agentId={id} /> })),
            {
              key: 'plugins',
              label: `Plugins (${plugins.length})`,
              children: (
                <Table
                  rowKey="name"
                  size="small"
                  dataSource={plugins}
                  pagination={false}
                  locale={{ emptyText: 'This agent reports no plugin.' }}
                  columns={[
                    { title: 'Plugin', dataIndex: 'name' },
                    {
                      title: 'State',
                      key: 'state',
                      render: (_, p) => {
                        const st = pluginState(p, !!h.online, now);
                        return <Badge status={st === 'running' ? 'success' : st === 'stale' ? 'warning' : 'default'} text={st === 'running' ? 'Running' : st === 'stale' ? 'Not reporting' : 'Unknown (host offline)'} />;
                      },
                    },
                    { title: 'Version', key: 'v', render: (_, p) => p.fields?.version ?? '–' },
                    { title: 'PID', key: 'pid', render: (_, p) => p.fields?.pid ?? '–' },
                    { title: 'CPU', key: 'cpu', render: (_, p) => (p.fields?.cpu ? `${p.fields.cpu}` : '–') },
                    { title: 'Memory', key: 'rss', render: (_, p) => formatBytes(p.fields?.rss) },
                    { title: 'Last report', key: 'ls', render: (_, p) => <When ms={p.last_seen} /> },
                  ]}
                />
              ),
            },
          ]}
        />
      </Card>
      <AlertDrawer id={openAlert} onClose={() => setOpenAlert(null)} onChanged={res.reload} />
    </div>
  );
}
