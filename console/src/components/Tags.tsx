import { Badge, Tag, Tooltip } from 'antd';
import type { AlertStatus, Severity } from '../api/types';
import { formatAgo, formatTime, SEVERITY_COLOR, SEVERITY_LABEL, STATUS_LABEL } from '../lib/format';

export function SeverityTag({ severity }: { severity: Severity | string | undefined }) {
  const s = (severity ?? 'info') as Severity;
  return (
    <Tag color={SEVERITY_COLOR[s] ?? SEVERITY_COLOR.info} className={`sev sev-${s}`}>
      {SEVERITY_LABEL[s] ?? String(severity)}
    </Tag>
  );
}

const STATUS_BADGE: Record<AlertStatus, 'error' | 'processing' | 'success' | 'default'> = {
  new: 'error',
  in_progress: 'processing',
  resolved: 'success',
  false_positive: 'default',
};

export function AlertStatusBadge({ status }: { status: AlertStatus }) {
  return <Badge status={STATUS_BADGE[status] ?? 'default'} text={STATUS_LABEL[status] ?? status} />;
}

export function OnlineBadge({ online }: { online?: boolean }) {
  return <Badge status={online ? 'success' : 'default'} text={online ? 'Online' : 'Offline'} />;
}

export function When({ ms }: { ms?: number | null }) {
  return (
    <Tooltip title={formatTime(ms)}>
      <time dateTime={ms ? new Date(ms).toISOString() : undefined}>{formatAgo(ms)}</time>
    </Tooltip>
  );
}

export function Attack({ ids }: { ids?: string[] }) {
  if (!ids?.length) return <span>–</span>;
  return (
    <>
      {ids.map((t) => (
        <Tag key={t} variant="filled">
          <a
            href={`https://attack.mitre.org/techniques/${t.replace('.', '/')}/`}
            target="_blank"
            rel="noreferrer noopener"
          >
            {t}
          </a>
        </Tag>
      ))}
    </>
  );
}
