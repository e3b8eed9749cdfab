/* Whitelist: what the hubs keep quiet about, why, and who decided. */
import { App, Button, Flex, Form, Input, Modal, Popconfirm, Space, Table, Tag, Typography } from 'antd';
import { useState } from 'react';
import { Link } from 'react-router';
import { describeError } from '../api/client';
import type { WhitelistEntry } from '../api/types';
import { useApi, useCan } from '../app';
import { EmptyState, ErrorState, StaleWarning } from '../components/States';
import { When } from '../components/Tags';
import { formatNumber } from '../lib/format';
import { usePoll } from '../lib/usePoll';

/* "exe=/usr/bin/backup" lines -> {exe: "/usr/bin/backup"}; null when a line is malformed. */
export function parseMatchLines(text: string): Record<string, string> | null {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const l = line.trim();
    if (!l) continue;
    const eq = l.indexOf('=');
    if (eq <= 0) return null;
    out[l.slice(0, eq).trim()] = l.slice(eq + 1).trim();
  }
  return Object.keys(out).length ? out : null;
}

export default function Whitelist() {
  const api = useApi();
  const canEdit = useCan('analyst');
  const { message } = App.useApp();
  const [page, setPage] = useState({ n: 1, size: 20 });
  const res = usePoll((s) => api.whitelist({ limit: page.size, offset: (page.n - 1) * page.size }, s), [page.n, page.size], 15_000);
  const [open, setOpen] = useState(false);
  const remove = async (w: WhitelistEntry) => {
    try {
      const r = await api.deleteWhitelist(w.id);
      message.success(`Entry deleted${r.hubs ? `; ${r.hubs.accepted} of ${r.hubs.found} hubs updated` : ''}`);
      res.reload();
    } catch (e) {
      message.error(describeError(e));
    }
  };
  return (
    <div data-testid="page-whitelist">
      <Flex justify="space-between" align="center">
        <Typography.Title level={3} className="page-title">
          Whitelist
        </Typography.Title>
        {canEdit && (
          <Button type="primary" onClick={() => setOpen(true)}>
            New entry
          </Button>
        )}
      </Flex>
      <Typography.Paragraph type="secondary">Events whose fields equal every value of an entry raise none of its rules. Entries are pushed to every hub at once. Most are made from an alert (its Whitelist button).</Typography.Paragraph>
      <StaleWarning error={res.data ? res.error : null} retry={res.reload} />
      {!res.data && res.error ? (
        <ErrorState error={res.error} retry={res.reload} what="the whitelist" />
      ) : (
        <Table<WhitelistEntry>
          rowKey="id"
          loading={res.loading}
          dataSource={res.data?.items ?? []}
          locale={{ emptyText: <EmptyState>The whitelist is empty: every rule fires on every match.</EmptyState> }}
          pagination={{ current: page.n, pageSize: page.size, total: res.data?.total ?? 0, onChange: (n, size) => setPage({ n, size }), showTotal: (t) => (t === 1 ? '1 entry' : `${formatNumber(t)} entries`) }}
          columns={[
            { title: 'Rules', key: 'rules', render: (_, w) => w.rules.map((r) => <Tag key={r} className="mono">{r === '*' ? 'every rule' : r}</Tag>) },
            {
              title: 'When',
              key: 'match',
              render: (_, w) => (
                <Space orientation="vertical" size={0}>
                  {w.match.map((m) => (
                    <span key={m.field} className="mono">
                      <b>{m.field}</b> = {m.value}
                    </span>
                  ))}
                </Space>
              ),
            },
            { title: 'Why', dataIndex: 'comment', render: (c) => c || <span className="muted">–</span> },
            { title: 'From alert', key: 'a', render: (_, w) => (w.from_alert ? <Link to={`/alerts?alert=${w.from_alert}`} className="mono">{w.from_alert.slice(0, 8)}</Link> : '–') },
            { title: 'By', dataIndex: 'created_by' },
            { title: 'Created', key: 'c', render: (_, w) => <When ms={w.created_at} /> },
            ...(canEdit
              ? [
                  {
                    title: '',
                    key: 'x',
                    render: (_: unknown, w: WhitelistEntry) => (
                      <Popconfirm title="Delete this entry?" description="Its rules fire again for these events." okText="Delete" okButtonProps={{ danger: true }} onConfirm={() => remove(w)}>
                        <Button size="small" danger>
                          Delete
                        </Button>
                      </Popconfirm>
                    ),
                  },
                ]
              : []),
          ]}
        />
      )}
      {open && <NewEntry onClose={() => setOpen(false)} done={res.reload} />}
    </div>
  );
}

function NewEntry({ onClose, done }: { onClose: () => void; done: () => void }) {
  const api = useApi();
  const { message } = App.useApp();
  const [form] = Form.useForm<{ match: string; rules: string; comment: string }>();
  const [busy, setBusy] = useState(false);
  return (
    <Modal
      open
      title="New whitelist entry"
      okText="Create"
      confirmLoading={busy}
      onCancel={onClose}
      onOk={async () => {
        const v = await form.validateFields();
        setBusy(true);
        try {
          const rules = v.rules.split(/[\s,]+/).filter(Boolean);
          await api.createWhitelist({ match: parseMatchLines(v.match)!, rules: rules.length ? rules : ['*'], comment: v.comment || undefined });
          message.success('Entry created');
          done();
          onClose();
        } catch (e) {
          message.error(describeError(e));
        } finally {
          setBusy(false);
        }
      }}
    >
      <Form form={form} layout="vertical" initialValues={{ rules: '*' }}>
        <Form.Item name="match" label="Fields that must all match, one field=value per line" rules={[{ required: true, validator: async (_, v) => { if (!parseMatchLines(v ?? '')) throw new Error('Write field=value lines, e.g. exe=/usr/bin/backup'); } }]}>
          <Input.TextArea rows={3} placeholder={'exe=/usr/bin/backup\nargv=backup --nightly'} className="mono" />
        </Form.Item>
        <Form.Item name="rules" label="Rules (ids or globs, * for every rule)">
          <Input placeholder="*" />
        </Form.Item>
        <Form.Item name="comment" label="Why">
          <Input maxLength={500} />
        </Form.Item>
      </Form>
    </Modal>
  );
}
