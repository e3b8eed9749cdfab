/* Hosts: search by name, filter by status, tag and OS, sort, page. */
import { Button, Flex, Input, Select, Table, Tag, Typography } from 'antd';
import type { SorterResult } from 'antd/es/table/interface';
import { useMemo } from 'react';
import { Link } from 'react-router';
import type { Host } from '../api/types';
import { useApi } from '../app';
import { EmptyState, ErrorState, StaleWarning } from '../components/States';
import { OnlineBadge, When } from '../components/Tags';
import { hostAddrs, osName, plural } from '../lib/format';
import { hostFiltersToApi, hostFiltersToSearch, parseHostFilters, withFilter, type HostFilters } from '../lib/query';
import { usePoll } from '../lib/usePoll';
import { useUrlState } from '../lib/useUrlState';

/* OS filter (client side, the API has none): a host matches when its OS name contains the text. */
export function matchesOs(h: Host, os: string | undefined): boolean {
  if (!os) return true;
  return osName(h.facts).toLowerCase().includes(os.toLowerCase());
}

export default function Hosts() {
  const api = useApi();
  const [f, setF] = useUrlState<HostFilters>(parseHostFilters, hostFiltersToSearch);
  const q = hostFiltersToApi(f);
  const res = usePoll((s) => api.hosts(q, s), [JSON.stringify(q)], 15_000);

  const size = f.size ?? 20;
  const page = f.page ?? 1;
  const { rows, total } = useMemo(() => {
    const items = res.data?.items ?? [];
    if (!f.os) return { rows: items, total: res.data?.total ?? 0 };
    const all = items.filter((h) => matchesOs(h, f.os));
    return { rows: all.slice((page - 1) * size, page * size), total: all.length };
  }, [res.data, f.os, page, size]);

  const sortOrder = (k: string) => (f.sort ?? 'hostname') === k ? ((q.order as string) === 'asc' ? 'ascend' : 'descend') : null;

  return (
    <div data-testid="page-hosts">
      <Typography.Title level={3} className="page-title">
        Hosts
      </Typography.Title>
      <Flex gap={8} className="filters" role="search" aria-label="Filter hosts">
        <Input.Search
          allowClear
          aria-label="Host name starts with"
          placeholder="Host name starts with…"
          defaultValue={f.q}
          key={`q-${f.q ?? ''}`}
          onSearch={(v) => setF(withFilter(f, { q: v || undefined }))}
          style={{ width: 260 }}
        />
        <Select
          aria-label="Status"
          placeholder="Any status"
          allowClear
          value={f.status}
          onChange={(v) => setF(withFilter(f, { status: v }))}
          style={{ width: 150 }}
          options={[
            { value: 'online', label: 'Online' },
            { value: 'offline', label: 'Offline' },
          ]}
        />
        <Input.Search
          allowClear
          aria-label="Tag"
          placeholder="Tag"
          defaultValue={f.tag}
          key={`t-${f.tag ?? ''}`}
          onSearch={(v) => setF(withFilter(f, { tag: v || undefined }))}
          style={{ width: 180 }}
        />
        <Input.Search
          allowClear
          aria-label="Operating system contains"
          placeholder="OS, e.g. debian"
          defaultValue={f.os}
          key={`o-${f.os ?? ''}`}
          onSearch={(v) => setF(withFilter(f, { os: v || undefined }))}
          style={{ width: 200 }}
        />
        {(f.q || f.status || f.tag || f.os) && <Button onClick={() => setF({})}>Clear filters</Button>}
      </Flex>
      {f.os && res.data && res.data.total > 500 && (
        <Typography.Paragraph type="warning">The OS filter looks at the first 500 hosts matching the other filters.</Typography.Paragraph>
      )}
      <StaleWarning error={res.data ? res.error : null} retry={res.reload} />
      {!res.data && res.error ? (
        <ErrorState error={res.error} retry={res.reload} what="hosts" />
      ) : (
        <Table<Host>
          rowKey="agent_id"
          size="middle"
          loading={res.loading}
          dataSource={rows}
          locale={{ emptyText: <EmptyState>{f.q || f.status || f.tag || f.os ? 'No host matches these filters.' : 'No host has reported yet. Install an agent and it appears here.'}</EmptyState> }}
          onChange={(p, _filters, sorter) => {
            const s = (Array.isArray(sorter) ? sorter[0] : sorter) as SorterResult<Host>;
            const sort = s?.order ? (s.columnKey as HostFilters['sort']) : undefined;
            const order = s?.order ? (s.order === 'ascend' ? 'asc' : 'desc') : undefined;
            if (sort !== f.sort || order !== f.order) setF(withFilter(f, { sort, order }));
            else setF({ ...f, page: p.current, size: p.pageSize });
          }}
          pagination={{ current: page, pageSize: size, total, showSizeChanger: true, showTotal: (t) => plural(t, 'host') }}
          columns={[
            {
              title: 'Host',
              key: 'hostname',
              sorter: true,
              sortOrder: sortOrder('hostname'),
              render: (_, h) => (
                <div>
                  <Link to={`/hosts/${encodeURIComponent(h.agent_id)}`}>{h.hostname || h.agent_id}</Link>
                  <div className="muted mono">{h.agent_id}</div>
                </div>
              ),
            },
            { title: 'Status', key: 'online', render: (_, h) => <OnlineBadge online={h.online} /> },
            { title: 'Address', key: 'ip', render: (_, h) => <span className="mono">{hostAddrs(h, 'intranet_ipv4').join(', ') || '–'}</span> },
            { title: 'OS', key: 'os', render: (_, h) => osName(h.facts) || <span className="muted">unknown</span> },
            { title: 'Agent', key: 'version', render: (_, h) => h.version || h.facts?.version || '–' },
            { title: 'Tags', key: 'tags', render: (_, h) => (h.tags ?? []).map((t) => <Tag key={t}>{t}</Tag>) },
            { title: 'Last seen', key: 'last_seen', sorter: true, sortOrder: sortOrder('last_seen'), render: (_, h) => <When ms={h.last_seen} /> },
            { title: 'First seen', key: 'first_seen', sorter: true, sortOrder: sortOrder('first_seen'), render: (_, h) => <When ms={h.first_seen} /> },
          ]}
        />
      )}
    </div>
  );
}
