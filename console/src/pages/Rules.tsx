/* The hubs' detection rules, each with its switch. */
import { Alert, App, Flex, Input, Select, Switch, Table, Typography } from 'antd';
import { useMemo, useState } from 'react';
import { Link } from 'react-router';
import { describeError } from '../api/client';
import type { Rule } from '../api/types';
import { useApi, useCan } from '../app';
import { ErrorState, StaleWarning } from '../components/States';
import { Attack, SeverityTag } from '../components/Tags';
import { SEVERITY_LABEL, SEVERITY_ORDER } from '../lib/format';
import { SEVERITIES } from '../lib/query';
import { usePoll } from '../lib/usePoll';

export function ruleMatches(r: Rule, text: string): boolean {
  if (!text) return true;
  const t = text.toLowerCase();
  return [r.id, r.name, r.description, ...(r.attack ?? []), ...(r.tags ?? [])].some((x) => x?.toLowerCase().includes(t));
}

export default function Rules() {
  const api = useApi();
  const canEdit = useCan('analyst');
  const { message } = App.useApp();
  const res = usePoll((s) => api.rules(s), [], 30_000);
  const [text, setText] = useState('');
  const [sev, setSev] = useState<string | undefined>();
  const [state, setState] = useState<string | undefined>();
  const [busy, setBusy] = useState<string | null>(null);
  const rows = useMemo(
    () =>
      (res.data?.rules ?? [])
        .filter((r) => ruleMatches(r, text) && (!sev || r.severity === sev) && (!state || (state === 'on') === r.enabled))
        .sort((a, b) => (SEVERITY_ORDER[b.severity ?? 'info'] ?? 0) - (SEVERITY_ORDER[a.severity ?? 'info'] ?? 0) || a.id.localeCompare(b.id)),
    [res.data, text, sev, state],
  );
  const toggle = async (r: Rule, on: boolean) => {
    setBusy(r.id);
    try {
      const a = await api.setRule(r.id, on);
      message.success(`${r.id} ${on ? 'enabled' : 'disabled'}${a.hubs ? `; ${a.hubs.accepted} of ${a.hubs.found} hubs updated` : ''}`);
      res.reload();
    } catch (e) {
      message.error(describeError(e));
    } finally {
      setBusy(null);
    }
  };
  const d = res.data;
  return (
    <div data-testid="page-rules">
      <Typography.Title level={3} className="page-title">
        Detection rules
      </Typography.Title>
      {d && !d.hub_reachable && (
        <Alert type="warning" showIcon style={{ marginBottom: 12 }} title="No hub answered" description="The rule list comes from a running hub (rampart-hub) registered in service discovery. Switches still take effect: they are pushed to every hub when one starts." />
      )}
      <StaleWarning error={d ? res.error : null} retry={res.reload} />
      <Flex gap={8} className="filters" role="search" aria-label="Filter rules">
        <Input.Search aria-label="Search rules" placeholder="Id, name, ATT&CK technique, tag" allowClear onSearch={setText} onChange={(e) => !e.target.value && setText('')} style={{ width: 320 }} />
        <Select aria-label="Severity" allowClear placeholder="Any severity" value={sev} onChange={setSev} style={{ width: 140 }} options={SEVERITIES.map((s) => ({ value: s, label: SEVERITY_LABEL[s] }))} />
        <Select aria-label="State" allowClear placeholder="Enabled or not" value={state} onChange={setState} style={{ width: 160 }} options={[{ value: 'on', label: 'Enabled' }, { value: 'off', label: 'Disabled' }]} />
        {d && <Typography.Text type="secondary">{d.rules.length} rules, {d.disabled.length} disabled{d.version ? `, ruleset ${d.version}` : ''}</Typography.Text>}
      </Flex>
      {!d && res.error ? (
        <ErrorState error={res.error} retry={res.reload} what="rules" />
      ) : (
        <Table<Rule>
          rowKey="id"
          size="middle"
          loading={res.loading}
          dataSource={rows}
          pagination={{ pageSize: 50, showSizeChanger: true }}
          locale={{ emptyText: d?.rules.length ? 'No rule matches these filters.' : 'No rules: no hub has answered yet.' }}
          expandable={{ rowExpandable: (r) => !!(r.description || r.remediation), expandedRowRender: (r) => <div><p>{r.description}</p>{r.remediation && <p><b>Remediation:</b> {r.remediation}</p>}</div> }}
          columns={[
            {
              title: 'Enabled',
              key: 'enabled',
              width: 90,
              render: (_, r) => <Switch aria-label={`${r.enabled ? 'Disable' : 'Enable'} rule ${r.id}`} checked={r.enabled} disabled={!canEdit || busy === r.id} loading={busy === r.id} onChange={(on) => toggle(r, on)} />,
            },
            { title: 'Severity', key: 'sev', width: 110, render: (_, r) => <SeverityTag severity={r.severity} /> },
            { title: 'Rule', key: 'name', render: (_, r) => <div>{r.name || r.id}<div className="muted mono">{r.id}</div></div> },
            { title: 'Rule file', key: 'source', render: (_, r) => <span className="mono muted">{String(r.source ?? '–')}</span> },
            { title: 'ATT&CK', key: 'attack', render: (_, r) => <Attack ids={r.attack} /> },
            { title: 'Alerts', key: 'alerts', width: 90, render: (_, r) => <Link to={`/alerts?rule_id=${encodeURIComponent(r.id)}`}>view</Link> },
          ]}
        />
      )}
    </div>
  );
}
