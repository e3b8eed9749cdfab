/* One alert: what happened (rule, ATT&CK, process chain, event), what to do (remediation)
 * and the analyst's actions (status, assignee, notes, whitelist, kill, quarantine). */
import { Alert as AntAlert, App, AutoComplete, Button, Card, Checkbox, Descriptions, Drawer, Flex, Form, Input, Modal, Select, Space, Tabs, Timeline, Typography } from 'antd';
import { useMemo, useState } from 'react';
import { Link } from 'react-router';
import { describeError } from '../api/client';
import type { AlertDetail, AlertStatus } from '../api/types';
import { useApi, useApp, useCan } from '../app';
import { formatTime, STATUS_LABEL } from '../lib/format';
import { ALERT_STATUSES } from '../lib/query';
import { usePoll } from '../lib/usePoll';
import { ProcessTree } from './ProcessTree';
import { ErrorState, Loading } from './States';
import { AlertStatusBadge, Attack, SeverityTag } from './Tags';
import { LiveTask } from './TaskProgress';

/* Event fields that usually name the file behind an alert, most specific first. */
const FILE_FIELDS = ['path', 'file_path', 'target', 'exe'];

export function AlertDrawer({ id, onClose, onChanged }: { id: string | null; onClose: () => void; onChanged?: () => void }) {
  const api = useApi();
  const res = usePoll((s) => (id ? api.alert(id, s) : Promise.resolve(null)), [id], id ? 15_000 : 0);
  const a = res.data;
  return (
    <Drawer
      open={!!id}
      onClose={onClose}
      size={880}
      destroyOnHidden
      title={a ? <Flex gap={8} align="center"><SeverityTag severity={a.severity} /> {a.rule_name || a.rule_id}</Flex> : 'Alert'}
      extra={a && <AlertStatusBadge status={a.status} />}
      data-testid="alert-drawer"
    >
      {!a && res.loading && <Loading what="the alert" />}
      {!a && !res.loading && res.error ? <ErrorState error={res.error} retry={res.reload} what="the alert" /> : null}
      {a && (
        <AlertBody
          a={a}
          changed={() => {
            res.reload();
            onChanged?.();
          }}
        />
      )}
    </Drawer>
  );
}

function AlertBody({ a, changed }: { a: AlertDetail; changed: () => void }) {
  const canTriage = useCan('analyst');
  const event = a.event ?? {};
  return (
    <>
      {canTriage && <Actions a={a} changed={changed} />}
      <Tabs
        items={[
          {
            key: 'summary',
            label: 'Summary',
            children: (
              <Space orientation="vertical" size={16} style={{ width: '100%' }}>
                <Descriptions size="small" column={2} bordered>
                  <Descriptions.Item label="Host">
                    <Link to={`/hosts/${encodeURIComponent(a.agent_id)}`}>{a.hostname || a.agent_id}</Link>
                  </Descriptions.Item>
                  <Descriptions.Item label="Rule"><span className="mono">{a.rule_id}</span></Descriptions.Item>
                  <Descriptions.Item label="ATT&CK"><Attack ids={a.attack ?? a.rule?.attack} /></Descriptions.Item>
                  <Descriptions.Item label="Events merged">{a.count ?? 1}</Descriptions.Item>
                  <Descriptions.Item label="Detected">{formatTime(a.detected_at)}</Descriptions.Item>
                  <Descriptions.Item label="First / last event">{formatTime(a.first_seen)} / {formatTime(a.last_seen)}</Descriptions.Item>
                  <Descriptions.Item label="Assignee">{a.assignee || <span className="muted">nobody</span>}</Descriptions.Item>
                  <Descriptions.Item label="Data type">{a.data_type ?? '–'}</Descriptions.Item>
                </Descriptions>
                {a.rule?.description && (
                  <Card size="small" title="What this means">
                    {a.rule.description}
                  </Card>
                )}
                <Card size="small" title="Process chain">
                  <ProcessTree chain={a.process_chain} event={event} />
                </Card>
                <Card size="small" title="Remediation">
                  {a.rule?.remediation || <span className="muted">The rule gives no remediation. Look at the process chain and the event fields.</span>}
                </Card>
              </Space>
            ),
          },
          {
            key: 'event',
            label: `Event fields (${Object.keys(event).length})`,
            children: (
              <Descriptions size="small" column={1} bordered data-testid="event-fields">
                {Object.entries(event)
                  .sort(([x], [y]) => x.localeCompare(y))
                  .map(([k, v]) => (
                    <Descriptions.Item key={k} label={k}>
                      <Typography.Text className="mono" copyable={{ text: v }}>
                        {v}
                      </Typography.Text>
                    </Descriptions.Item>
                  ))}
              </Descriptions>
            ),
          },
          {
            key: 'notes',
            label: `Notes (${a.notes?.length ?? 0})`,
            children: a.notes?.length ? (
              <Timeline
                items={a.notes.map((n, i) => ({
                  key: i,
                  content: (
                    <>
                      <b>{n.author}</b> <span className="muted">{formatTime(n.at)}</span>
                      <div style={{ whiteSpace: 'pre-wrap' }}>{n.text}</div>
                    </>
                  ),
                }))}
              />
            ) : (
              <span className="muted">No notes yet.</span>
            ),
          },
          {
            key: 'raw',
            label: 'Raw alert',
            children: <pre className="raw-json">{JSON.stringify(a.raw ?? a, null, 2)}</pre>,
          },
        ]}
      />
    </>
  );
}

function Actions({ a, changed }: { a: AlertDetail; changed: () => void }) {
  const api = useApi();
  const { session } = useApp();
  const isAdmin = useCan('admin');
  const { message, modal } = App.useApp();
  const [note, setNote] = useState('');
  const [assignee, setAssignee] = useState(a.assignee ?? '');
  const [busy, setBusy] = useState(false);
  const [wlOpen, setWlOpen] = useState(false);
  const [task, setTask] = useState<{ id: string; what: string } | null>(null);
  const [qOpen, setQOpen] = useState(false);
  const users = usePoll((s) => (isAdmin ? api.users(s) : Promise.resolve({ items: [], total: 0 })), [isAdmin]);
  const event = a.event ?? {};
  const pid = Number(event.pid ?? a.process_chain?.[0]?.pid);
  const filePath = FILE_FIELDS.map((f) => event[f]).find((v) => v && v.startsWith('/')) ?? '';

  const act = async (what: string, fn: () => Promise<unknown>) => {
    setBusy(true);
    try {
      await fn();
      message.success(what);
      changed();
      return true;
    } catch (e) {
      message.error(describeError(e));
      return false;
    } finally {
      setBusy(false);
    }
  };

  const killProcess = () =>
    modal.confirm({
      title: `Kill process ${pid} on ${a.hostname || a.agent_id}?`,
      content: 'The agent sends SIGKILL to the process. This cannot be undone.',
      okText: 'Kill process',
      okButtonProps: { danger: true },
      onOk: async () => {
        try {
          const t = await api.createTask({ type: 'kill_process', hosts: [a.agent_id], params: { pid } });
          setTask({ id: t.id, what: `Kill process ${pid}` });
          await api.updateAlert(a.id, { note: `Kill process ${pid} requested (task ${t.id}).` });
          changed();
        } catch (e) {
          message.error(describeError(e));
        }
      },
    });

  return (
    <Card size="small" style={{ marginBottom: 16 }} title="Response">
      <Space orientation="vertical" style={{ width: '100%' }}>
        <Flex gap={8} wrap align="center">
          <span>Status</span>
          <Select<AlertStatus>
            aria-label="Alert status"
            value={a.status}
            disabled={busy}
            style={{ width: 170 }}
            onChange={(status) => act(`Status set to ${STATUS_LABEL[status]}`, () => api.updateAlert(a.id, { status }))}
            options={ALERT_STATUSES.map((s) => ({ value: s, label: STATUS_LABEL[s] }))}
          />
          <span>Assignee</span>
          <AutoComplete
            aria-label="Assignee"
            value={assignee}
            onChange={setAssignee}
            style={{ width: 160 }}
            placeholder="user name"
            options={(users.data?.items ?? []).map((u) => ({ value: u.username }))}
          />
          <Button disabled={busy || assignee === (a.assignee ?? '')} onClick={() => act('Assignee changed', () => api.updateAlert(a.id, { assignee }))}>
            Assign
          </Button>
          <Button
            disabled={busy || a.assignee === session?.user.username}
            onClick={() => {
              setAssignee(session!.user.username);
              void act('Assigned to you', () => api.updateAlert(a.id, { assignee: session!.user.username }));
            }}
          >
            Assign to me
          </Button>
        </Flex>
        <Flex gap={8}>
          <Input.TextArea aria-label="Note" placeholder="Add a note for the team…" value={note} onChange={(e) => setNote(e.target.value)} rows={2} maxLength={4096} />
          <Button disabled={busy || !note.trim()} onClick={async () => (await act('Note added', () => api.updateAlert(a.id, { note: note.trim() }))) && setNote('')}>
            Add note
          </Button>
        </Flex>
        <Flex gap={8} wrap>
          <Button onClick={() => setWlOpen(true)}>Whitelist…</Button>
          <Button danger disabled={!Number.isInteger(pid) || pid <= 0} onClick={killProcess} title={Number.isInteger(pid) && pid > 0 ? undefined : 'The event names no process id'}>
            Kill process{Number.isInteger(pid) && pid > 0 ? ` ${pid}` : ''}
          </Button>
          <Button danger onClick={() => setQOpen(true)}>
            Quarantine file…
          </Button>
        </Flex>
        {task && (
          <AntAlert
            type="info"
            title={
              <span>
                {task.what}: <Link to={`/tasks/${task.id}`}>task {task.id.slice(0, 8)}</Link>
              </span>
            }
            description={<LiveTask id={task.id} />}
          />
        )}
      </Space>
      <WhitelistModal a={a} open={wlOpen} onClose={() => setWlOpen(false)} done={changed} />
      <QuarantineModal
        a={a}
        open={qOpen}
        initialPath={filePath}
        onClose={() => setQOpen(false)}
        started={(id, path) => {
          setTask({ id, what: `Quarantine ${path}` });
          changed();
        }}
      />
    </Card>
  );
}

function WhitelistModal({ a, open, onClose, done }: { a: AlertDetail; open: boolean; onClose: () => void; done: () => void }) {
  const api = useApi();
  const { message } = App.useApp();
  const event = a.event ?? {};
  const fields = useMemo(() => Object.keys(event).sort(), [event]);
  const preset = ['exe', 'argv'].filter((f) => f in event);
  const [chosen, setChosen] = useState<string[]>(preset.length ? preset : fields.slice(0, 1));
  const [comment, setComment] = useState('');
  const [allRules, setAllRules] = useState(false);
  const [busy, setBusy] = useState(false);
  const submit = async () => {
    setBusy(true);
    try {
      const r = await api.createWhitelist({ alert_id: a.id, fields: chosen, comment: comment || undefined, rules: allRules ? ['*'] : undefined });
      const hubs = r.hubs ? ` Pushed to ${r.hubs.accepted} of ${r.hubs.found} hubs.` : '';
      message.success(`Whitelisted.${hubs}`);
      if (a.status === 'new' || a.status === 'in_progress') await api.updateAlert(a.id, { status: 'false_positive', note: `Whitelisted (${chosen.join(', ')}).${comment ? ' ' + comment : ''}` });
      done();
      onClose();
    } catch (e) {
      message.error(describeError(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <Modal open={open} title="Whitelist this behaviour" onCancel={onClose} onOk={submit} okText="Create whitelist entry" confirmLoading={busy} okButtonProps={{ disabled: chosen.length === 0 }} destroyOnHidden>
      <Typography.Paragraph>
        Events whose chosen fields equal this alert's values will no longer raise{' '}
        {allRules ? 'any rule' : <b>{a.rule_id}</b>}. The alert is marked as a false positive.
      </Typography.Paragraph>
      <Form layout="vertical">
        <Form.Item label="Fields that must match">
          <Checkbox.Group value={chosen} onChange={(v) => setChosen(v as string[])} style={{ display: 'grid', gap: 4 }}>
            {fields.map((f) => (
              <Checkbox key={f} value={f}>
                <b>{f}</b> = <span className="mono">{event[f].length > 80 ? event[f].slice(0, 80) + '…' : event[f]}</span>
              </Checkbox>
            ))}
          </Checkbox.Group>
        </Form.Item>
        <Form.Item>
          <Checkbox checked={allRules} onChange={(e) => setAllRules(e.target.checked)}>
            Quiet every rule for these values, not only {a.rule_id}
          </Checkbox>
        </Form.Item>
        <Form.Item label="Why (kept with the entry)">
          <Input value={comment} onChange={(e) => setComment(e.target.value)} maxLength={500} placeholder="e.g. nightly backup job" />
        </Form.Item>
      </Form>
    </Modal>
  );
}

function QuarantineModal({ a, open, initialPath, onClose, started }: { a: AlertDetail; open: boolean; initialPath: string; onClose: () => void; started: (taskId: string, path: string) => void }) {
  const api = useApi();
  const { message } = App.useApp();
  const [path, setPath] = useState(initialPath);
  const [busy, setBusy] = useState(false);
  const ok = path.startsWith('/');
  return (
    <Modal
      open={open}
      title={`Quarantine a file on ${a.hostname || a.agent_id}`}
      okText="Quarantine"
      okButtonProps={{ danger: true, disabled: !ok }}
      confirmLoading={busy}
      onCancel={onClose}
      destroyOnHidden
      onOk={async () => {
        setBusy(true);
        try {
          const t = await api.createTask({ type: 'quarantine_file', hosts: [a.agent_id], params: { path } });
          await api.updateAlert(a.id, { note: `Quarantine of ${path} requested (task ${t.id}).` });
          started(t.id, path);
          onClose();
        } catch (e) {
          message.error(describeError(e));
        } finally {
          setBusy(false);
        }
      }}
    >
      <Typography.Paragraph>The agent moves the file out of reach and keeps it for analysis.</Typography.Paragraph>
      <Input aria-label="File path" value={path} onChange={(e) => setPath(e.target.value)} placeholder="/absolute/path" status={ok ? undefined : 'error'} />
      {!ok && <Typography.Text type="danger">Give an absolute path.</Typography.Text>}
    </Modal>
  );
}
