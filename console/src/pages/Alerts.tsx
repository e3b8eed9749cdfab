import { Typography } from 'antd';
import { useState } from 'react';
import { useSearchParams } from 'react-router';
import { AlertDrawer } from '../components/AlertDrawer';
import { AlertsTable } from '../components/AlertsTable';
import { alertFiltersToSearch, parseAlertFilters, type AlertFilters } from '../lib/query';
import { useUrlState } from '../lib/useUrlState';

const KEEP = ['alert'] as const;

export default function Alerts() {
  const [f, setF] = useUrlState<AlertFilters>(parseAlertFilters, alertFiltersToSearch, KEEP);
  const [params, setParams] = useSearchParams();
  const openId = params.get('alert');
  const [version, setVersion] = useState(0);
  const setOpen = (id: string | null) => {
    const p = new URLSearchParams(params);
    if (id) p.set('alert', id);
    else p.delete('alert');
    setParams(p);
  };
  return (
    <div data-testid="page-alerts">
      <Typography.Title level={3} className="page-title">
        Alerts
      </Typography.Title>
      <AlertsTable f={f} setF={setF} open={setOpen} version={version} />
      <AlertDrawer id={openId} onClose={() => setOpen(null)} onChanged={() => setVersion((v) => v + 1)} />
    </div>
  );
}
