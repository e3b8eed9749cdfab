/* Security overview: what needs attention now, and the trend of the last 7 days. */
import { Card, Col, Flex, List, Progress, Row, Statistic, Typography } from 'antd';
import { useMemo } from 'react';
import { Link } from 'react-router';
import type { AlertStats, Overview as OverviewT } from '../api/types';
import { useApi } from '../app';
import { Chart, type ChartOption } from '../components/Chart';
import { EmptyState, ErrorState, Loading, StaleWarning } from '../components/States';
import { dailyTrend, formatNumber, SEVERITY_COLOR, SEVERITY_LABEL } from '../lib/format';
import { SEVERITIES } from '../lib/query';
import { usePoll } from '../lib/usePoll';

const WEEK = 7 * 86_400_000;

function Stat({ title, value, id, to, color }: { title: string; value: number; id: string; to?: string; color?: string }) {
  const body = (
    <Statistic title={title} value={value} formatter={(v) => <span data-testid={id}>{formatNumber(Number(v))}</span>} styles={color ? { content: { color } } : undefined} />
  );
  return (
    <Card size="small" className="stat-card" hoverable={!!to}>
      {to ? (
        <Link to={to} aria-label={`${title}: ${value}`} style={{ color: 'inherit' }}>
          {body}
        </Link>
      ) : (
        body
      )}
    </Card>
  );
}

function Ring({ percent, label, color, detail }: { percent: number; label: string; color: string; detail: string }) {
  return (
    <div className="ring">
      <Progress type="circle" percent={Math.round(percent)} format={(p) => `${p}%`} strokeColor={color} size={104} aria-label={`${label}: ${Math.round(percent)}%`} />
      <div style={{ marginTop: 8, fontWeight: 500 }}>{label}</div>
      <div className="muted">{detail}</div>
    </div>
  );
}

function Risk({ o }: { o: OverviewT }) {
  const a = o.alerts;
  const all = a.new + a.in_progress + a.resolved + a.false_positive;
  const open = a.new + a.in_progress;
  const items: { text: string; to: string; bad: boolean }[] = [
    { text: `${a.open_critical} critical alert${a.open_critical === 1 ? '' : 's'} not yet triaged`, to: '/alerts?status=new&severity=critical', bad: a.open_critical > 0 },
    { text: `${a.open_high} high alert${a.open_high === 1 ? '' : 's'} not yet triaged`, to: '/alerts?status=new&severity=high', bad: a.open_high > 0 },
    { text: `${o.hosts.offline} host${o.hosts.offline === 1 ? '' : 's'} offline (no heartbeat)`, to: '/hosts?status=offline', bad: o.hosts.offline > 0 },
    { text: `${o.tasks.pending + o.tasks.awaiting_result} task step${o.tasks.pending + o.tasks.awaiting_result === 1 ? '' : 's'} still running`, to: '/tasks', bad: false },
  ];
  return (
    <Card title="Risk summary" size="small">
      <Flex justify="space-around" wrap gap={16} style={{ marginBottom: 16 }}>
        <Ring percent={all ? (a.new / all) * 100 : 0} label="Untriaged alerts" color="#faad14" detail={`${a.new} of ${all}`} />
        <Ring percent={all ? (open / all) * 100 : 0} label="Open alerts" color="#cf1322" detail={`${open} of ${all}`} />
        <Ring percent={o.hosts.total ? (o.hosts.online / o.hosts.total) * 100 : 0} label="Hosts online" color="#52c41a" detail={`${o.hosts.online} of ${o.hosts.total}`} />
      </Flex>
      <List
        size="small"
        dataSource={items}
        renderItem={(it) => (
          <List.Item>
            <Link to={it.to}>
              <Typography.Text type={it.bad ? 'danger' : undefined}>{it.text}</Typography.Text>
            </Link>
          </List.Item>
        )}
      />
    </Card>
  );
}

export default function Overview() {
  const api = useApi();
  const ov = usePoll((s) => api.overview(s), [], 10_000);
  const st = usePoll<AlertStats>((s) => api.alertStats({ since: Date.now() - WEEK, top: 5 }, s), [], 30_000);

  /* Top hosts come as agent ids: their names are one small look-up each. */
  const topIds = (st.data?.by_host ?? []).map((h) => h.agent_id).filter(Boolean);
  const names = usePoll(
    async (s) => {
      const out: Record<string, string> = {};
      await Promise.all(
        topIds.map(async (id) => {
          const h = (await api.hosts({ agent_id: id, limit: 1 }, s)).items[0];
          if (h?.hostname) out[id] = h.hostname;
        }),
      );
      return out;
    },
    [topIds.join(',')],
  );
  const trend = useMemo(() => dailyTrend(st.data?.by_hour ?? [], Date.now()), [st.data]);
  const trendOption: ChartOption = useMemo(
    () => ({
      grid: { left: 40, right: 16, top: 16, bottom: 28 },
      tooltip: { trigger: 'axis' },
      xAxis: { type: 'category', data: trend.map((d) => d.label), boundaryGap: false },
      yAxis: { type: 'value', minInterval: 1 },
      series: [{ type: 'line', name: 'Alerts', data: trend.map((d) => d.count), areaStyle: { opacity: 0.15 }, color: '#1677ff' }],
    }),
    [trend],
  );
  const sevData = useMemo(() => {
    const m = new Map((st.data?.by_severity ?? []).map((x) => [x.severity, x.count]));
    return SEVERITIES.map((s) => ({ name: SEVERITY_LABEL[s], value: m.get(s) ?? 0, itemStyle: { color: SEVERITY_COLOR[s] } }));
  }, [st.data]);
  const sevOption: ChartOption = useMemo(
    () => ({
      tooltip: { trigger: 'item' },
      legend: { orient: 'vertical', right: 0, top: 'middle' },
      series: [{ type: 'pie', radius: ['45%', '70%'], center: ['35%', '50%'], label: { show: false }, data: sevData }],
    }),
    [sevData],
  );

  if (ov.loading && !ov.data) return <Loading what="the overview" />;
  if (!ov.data) return <ErrorState error={ov.error} retry={ov.reload} what="the overview" />;
  const o = ov.data;
  const open = o.alerts.new + o.alerts.in_progress;
  const trendText = trend.map((d) => `${d.label}: ${d.count}`).join(', ');

  return (
    <div data-testid="page-overview">
      <Typography.Title level={3} className="page-title">
        Security overview
      </Typography.Title>
      <StaleWarning error={ov.error} retry={ov.reload} />
      <Row gutter={[16, 16]}>
        <Col span={4}><Stat title="Hosts" value={o.hosts.total} id="hosts-total" to="/hosts" /></Col>
        <Col span={4}><Stat title="Online" value={o.hosts.online} id="hosts-online" to="/hosts?status=online" color="#389e0d" /></Col>
        <Col span={4}><Stat title="Offline" value={o.hosts.offline} id="hosts-offline" to="/hosts?status=offline" color={o.hosts.offline ? '#d46b08' : undefined} /></Col>
        <Col span={4}><Stat title="Open alerts" value={open} id="alerts-open" to="/alerts?status=new" /></Col>
        <Col span={4}><Stat title="Critical, untriaged" value={o.alerts.open_critical} id="alerts-critical" to="/alerts?status=new&severity=critical" color={o.alerts.open_critical ? SEVERITY_COLOR.critical : undefined} /></Col>
        <Col span={4}><Stat title="Alerts, last 24 h" value={o.alerts.last_24h} id="alerts-24h" to="/alerts?range=24h" /></Col>
      </Row>
      <Row gutter={[16, 16]} style={{ marginTop: 16 }}>
        <Col span={14}>
          <Card title="Alerts, last 7 days" size="small">
            {st.data ? <Chart option={trendOption} label={`Alerts per day: ${trendText}`} /> : st.error ? <ErrorState error={st.error} retry={st.reload} what="alert statistics" /> : <Loading what="statistics" />}
          </Card>
        </Col>
        <Col span={10}>
          <Card title="By severity, last 7 days" size="small">
            {st.data ? (
              <Chart option={sevOption} label={`Alerts by severity: ${sevData.map((d) => `${d.name} ${d.value}`).join(', ')}`} />
            ) : (
              <Loading what="statistics" />
            )}
          </Card>
        </Col>
      </Row>
      <Row gutter={[16, 16]} style={{ marginTop: 16 }}>
        <Col span={8}>
          <Card title="Top rules, last 7 days" size="small">
            <TopList items={(st.data?.by_rule ?? []).map((r) => ({ key: r.rule_id, count: r.count, to: `/alerts?rule_id=${encodeURIComponent(r.rule_id)}&range=7d` }))} empty="No alerts in the last 7 days." />
          </Card>
        </Col>
        <Col span={8}>
          <Card title="Top hosts, last 7 days" size="small">
            <TopList items={(st.data?.by_host ?? []).map((h) => ({ key: h.agent_id, label: names.data?.[h.agent_id] ?? h.agent_id, count: h.count, to: `/hosts/${encodeURIComponent(h.agent_id)}` }))} empty="No alerts in the last 7 days." />
          </Card>
        </Col>
        <Col span={8}>
          <Risk o={o} />
        </Col>
      </Row>
      <Typography.Paragraph type="secondary" style={{ marginTop: 12 }}>
        Refreshes every 10 seconds. Tasks waiting to be sent: <span data-testid="tasks-pending">{o.tasks.pending}</span>; awaiting a result: <span data-testid="tasks-awaiting">{o.tasks.awaiting_result}</span>.
      </Typography.Paragraph>
    </div>
  );
}

function TopList({ items, empty }: { items: { key: string; label?: string; count: number; to: string }[]; empty: string }) {
  if (!items.length) return <EmptyState>{empty}</EmptyState>;
  const max = Math.max(...items.map((i) => i.count), 1);
  return (
    <List
      size="small"
      dataSource={items}
      rowKey="key"
      renderItem={(it) => (
        <List.Item extra={<b>{formatNumber(it.count)}</b>}>
          <div style={{ width: '100%' }}>
            <Link to={it.to} className="mono">{it.label ?? it.key}</Link>
            <Progress percent={(it.count / max) * 100} showInfo={false} size="small" strokeColor={SEVERITY_COLOR.high as string} />
          </div>
        </List.Item>
      )}
    />
  );
}

