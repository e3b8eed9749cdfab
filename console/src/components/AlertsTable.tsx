/* The alert list with its filters and bulk actions; used by the Alerts page and a host's
 * Alerts tab (with the host fixed). */
import { App, Button, DatePicker, Flex, Input, Select, Table, Tooltip, Typography } from 'antd';
import type { SorterResult } from 'antd/es/table/interface';
import dayjs from 'dayjs';
import { useState } from 'react';
import { Link } from 'react-router';
import { describeError } from '../api/client';
import type { Alert, AlertStatus } from '../api/types';
import { useApi, useApp, useCan } from '../app';
import { plural, SEVERITY_LABEL, STATUS_LABEL } from '../lib/format';
import { ALERT_STATUSES, alertFiltersToApi, SEVERITIES, TIME_RANGES, withFilter, type AlertFilters } from '../lib/query';
import { usePoll } from '../lib/usePoll';
import { EmptyState, ErrorState, StaleWarning } from './States';
import { AlertStatusBadge, Attack, SeverityTag, When } from './Tags';

export function AlertsTable({
  f,
  setF,
  open,
  fixedHost,
  version = 0,
}: {
  f: AlertFilters;
  setF: (f: AlertFilters) => void;
  open: (id: string) => void;
  fixedHost?: boolean;
  /* Bumped by the caller after a change made elsewhere (the drawer): reload now. */
  version?: number;
}) {
  const api = useApi();
  const { session } = useApp();
  const { message } = App.useApp();
  const canTriage = useCan('analyst');
  const q = alertFiltersToApi(f, Date.now());
  const qKey = JSON.stringify({ ...q, since: f.since ?? f.range });
  const res = usePoll((s) => api.alerts(alertFiltersToApi(f, Date.now()), s), [qKey, version], 10_000);
  const [selected, setSelected] = useState<string[]>([]);
  const [busy, setBusy] = useState(false);
  const size = f.size ?? 20;
  const filtered = !!(f.status || f.severity || f.rule_id || f.hostname || f.assignee || f.range || f.since || f.until);

  const bulk = async (what: string, body: { status?: AlertStatus; assignee?: string }) => {
    setBusy(true);
    try {
      const r = await api.bulkAlerts(selected, body);
      message.success(`${what}: ${r.matched} alert${r.matched === 1 ? '' : 's'}`);
      setSelected([]);
      res.reload();
    } catch (e) {
      message.error(describeError(e));
    } finally {
      setBusy(false);
    }
  };
  const sortOrder = (k: string) => ((f.sort ?? 'detected_at') === k ? (f.order === 'asc' ? 'ascend' : 'descend') : null);

  return (
    <>
      <Flex gap={8} className="filters" role="search" aria-label="Filter alerts">
        <Select aria-label="Severity" placeholder="Any severity" allowClear value={f.severity} style={{ width: 140 }} onChange={(v) => setF(withFilter(f, { severity: v }))} options={SEVERITIES.map((s) => ({ value: s, label: SEVERITY_LABEL[s] }))} />
        <Select aria-label="Status" placeholder="Any status" allowClear value={f.status} style={{ width: 150 }} onChange={(v) => setF(withFilter(f, { status: v }))} options={ALERT_STATUSES.map((s) => ({ value: s, label: STATUS_LABEL[s] }))} />
        <Input.Search aria-label="Rule id" placeholder="Rule id" allowClear defaultValue={f.rule_id} key={`r-${f.rule_id ?? ''}`} style={{ width: 200 }} onSearch={(v) => setF(withFilter(f, { rule_id: v || undefined }))} />
        {!fixedHost && <Input.Search aria-label="Host name" placeholder="Host name" allowClear defaultValue={f.hostname} key={`h-${f.hostname ?? ''}`} style={{ width: 180 }} onSearch={(v) => setF(withFilter(f, { hostname: v || undefined }))} />}
        <Select
          aria-label="Time"
          placeholder="Any time"
          allowClear
          value={f.since || f.until ? 'custom' : f.range}
          style={{ width: 150 }}
          onChange={(v) => setF(withFilter(f, { range: v === 'custom' ? undefined : v, since: undefined, until: undefined }))}
          options={[
            ...Object.keys(TIME_RANGES).map((r) => ({ value: r, label: `Last ${r.replace('h', ' h').replace('d', ' days')}` })),
            ...(f.since || f.until ? [{ value: 'custom', label: 'Custom range' }] : []),
          ]}
        />
        <DatePicker.RangePicker
          aria-label="Between"
          showTime
          value={f.since || f.until ? [f.since ? dayjs(f.since) : null, f.until ? dayjs(f.until) : null] : null}
          onChange={(v) => setF(withFilter(f, { range: undefined, since: v?.[0]?.valueOf(), until: v?.[1]?.valueOf() }))}
        />
        <Select aria-label="Assignee" placeholder="Anyone" allowClear value={f.assignee} style={{ width: 140 }} onChange={(v) => setF(withFilter(f, { assignee: v }))} options={session ? [{ value: session.user.username, label: 'Assigned to me' }] : []} />
        {filtered && <Button onClick={() => setF(fixedHost ? { agent_id: f.agent_id } : {})}>Clear filters</Button>}
      </Flex>
      {canTriage && (
        <Flex gap={8} align="center" style={{ marginBottom: 12 }} aria-live="polite">
          <Typography.Text type="secondary">{selected.length ? `${selected.length} selected` : 'Select alerts for bulk actions'}</Typography.Text>
          <Button size="small" disabled={!selected.length || busy} onClick={() => bulk('In progress', { status: 'in_progress' })}>Mark in progress</Button>
          <Button size="small" disabled={!selected.length || busy} onClick={() => bulk('Resolved', { status: 'resolved' })}>Resolve</Button>
          <Button size="small" disabled={!selected.length || busy} onClick={() => bulk('False positive', { status: 'false_positive' })}>False positive</Button>
          <Button size="small" disabled={!selected.length || busy} onClick={() => bulk('Assigned to you', { assignee: session!.user.username })}>Assign to me</Button>
        </Flex>
      )}
      <StaleWarning error={res.data ? res.error : null} retry={res.reload} />
      {!res.data && res.error ? (
        <ErrorState error={res.error} retry={res.reload} what="alerts" />
      ) : (
        <Table<Alert>
          rowKey="id"
          size="middle"
          loading={res.loading}
          dataSource={res.data?.items ?? []}
          rowSelection={canTriage ? { selectedRowKeys: selected, onChange: (k) => setSelected(k as string[]), preserveSelectedRowKeys: false } : undefined}
          locale={{ emptyText: <EmptyState>{filtered ? 'No alert matches these filters.' : 'No alerts. Quiet is good.'}</EmptyState> }}
          onRow={(r) => ({ onDoubleClick: () => open(r.id) })}
          onChange={(p, _x, sorter) => {
            const s = (Array.isArray(sorter) ? sorter[0] : sorter) as SorterResult<Alert>;
            const sort = s?.order ? (s.columnKey as AlertFilters['sort']) : undefined;
            const order = s?.order ? (s.order === 'ascend' ? 'asc' : 'desc') : undefined;
            if (sort !== f.sort || order !== f.order) setF(withFilter(f, { sort, order }));
            else setF({ ...f, page: p.current, size: p.pageSize });
          }}
          pagination={{ current: f.page ?? 1, pageSize: size, total: res.data?.total ?? 0, showSizeChanger: true, showTotal: (t) => plural(t, 'alert') }}
          columns={[
            { title: 'Severity', key: 'severity', sorter: true, sortOrder: sortOrder('severity'), width: 110, render: (_, r) => <SeverityTag severity={r.severity} /> },
            {
              title: 'Alert',
              key: 'rule',
              render: (_, r) => (
                <div>
                  <Button type="link" style={{ padding: 0, height: 'auto', textAlign: 'left', whiteSpace: 'normal' }} onClick={() => open(r.id)} data-testid="alert-open">
                    {r.rule_name || r.rule_id}
                  </Button>
                  <div className="muted mono">{r.rule_id}</div>
                </div>
              ),
            },
            ...(fixedHost ? [] : [{ title: 'Host', key: 'host', render: (_: unknown, r: Alert) => <Link to={`/hosts/${encodeURIComponent(r.agent_id)}`}>{r.hostname || r.agent_id}</Link> }]),
            { title: 'ATT&CK', key: 'attack', render: (_, r) => <Attack ids={r.attack} /> },
            { title: 'Status', key: 'status', width: 140, render: (_, r) => <AlertStatusBadge status={r.status} /> },
            { title: 'Assignee', key: 'assignee', render: (_, r) => r.assignee || <span className="muted">–</span> },
            { title: <Tooltip title="Identical events merged into this alert">Count</Tooltip>, key: 'count', sorter: true, sortOrder: sortOrder('count'), width: 90, render: (_, r) => r.count ?? 1 },
            { title: 'Detected', key: 'detected_at', sorter: true, sortOrder: sortOrder('detected_at'), width: 130, render: (_, r) => <When ms={r.detected_at} /> },
          ]}
        />
      )}
    </>
  );
}
