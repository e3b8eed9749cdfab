import { Table } from 'antd';
import { useState } from 'react';
import { Link } from 'react-router';
import type { Asset } from '../api/types';
import { useApi } from '../app';
import { assetColumns, kindOf } from '../lib/assets';
import { plural } from '../lib/format';
import { usePoll } from '../lib/usePoll';
import { EmptyState, ErrorState } from './States';
import { When } from './Tags';

/* One asset type of one host (agentId) or, with `search`, of the whole fleet. */
export function AssetTable({ type, agentId, search }: { type: string; agentId?: string; search?: string }) {
  const api = useApi();
  const kind = kindOf(type);
  const [page, setPage] = useState({ n: 1, size: 20 });
  const q = { type, name: search || undefined, limit: page.size, offset: (page.n - 1) * page.size };
  const res = usePoll((s) => (agentId ? api.hostAssets(agentId, q, s) : api.assets(q, s)), [agentId, type, search, page.n, page.size], 30_000);
  if (!res.data && res.error) return <ErrorState error={res.error} retry={res.reload} what={kind.label.toLowerCase()} />;
  const items = res.data?.items ?? [];
  const cols = assetColumns(kind, items, agentId ? 2 : 1);
  return (
    <Table<Asset>
      rowKey="id"
      size="small"
      loading={res.loading}
      dataSource={items}
      scroll={{ x: true }}
      locale={{
        emptyText: (
          <EmptyState>
            {agentId ? `No ${kind.label.toLowerCase()} reported by this host yet. The collector sends them on its schedule, or run "Collect assets now".` : search ? `No host has ${kind.nameIs} "${search}".` : `No ${kind.label.toLowerCase()} reported yet.`}
          </EmptyState>
        ),
      }}
      pagination={{ current: page.n, pageSize: page.size, total: res.data?.total ?? 0, showSizeChanger: true, onChange: (n, size) => setPage({ n, size }), showTotal: (t) => plural(t, 'item') }}
      columns={[
        ...(agentId
          ? []
          : [{ title: 'Host', key: 'host', render: (_: unknown, a: Asset) => <Link to={`/hosts/${encodeURIComponent(a.agent_id)}`}>{a.hostname || a.agent_id}</Link> }]),
        ...cols.map((c) => ({ title: c, key: c, render: (_: unknown, a: Asset) => <span className="mono">{a.fields?.[c] ?? ''}</span> })),
        { title: 'Last reported', key: 'last_seen', render: (_: unknown, a: Asset) => <When ms={a.last_seen} /> },
      ]}
    />
  );
}
