/* Fleet-wide asset search: which hosts have this package, listen on this port, have this user. */
import { Card, Flex, Input, Select, Typography } from 'antd';
import { useSearchParams } from 'react-router';
import { AssetTable } from '../components/AssetTable';
import { ASSET_KINDS, kindOf } from '../lib/assets';

export default function Assets() {
  const [params, setParams] = useSearchParams();
  const type = ASSET_KINDS.some((k) => k.type === params.get('type')) ? params.get('type')! : 'software';
  const name = (params.get('name') ?? '').slice(0, 1024);
  const kind = kindOf(type);
  const set = (t: string, n: string) => setParams(new URLSearchParams({ type: t, ...(n ? { name: n } : {}) }));
  return (
    <div data-testid="page-assets">
      <Typography.Title level={3} className="page-title">
        Asset search
      </Typography.Title>
      <Flex gap={8} className="filters" role="search" aria-label="Search assets">
        <Select aria-label="Asset type" value={type} style={{ width: 180 }} onChange={(t) => set(t, '')} options={ASSET_KINDS.map((k) => ({ value: k.type, label: k.label }))} />
        <Input.Search aria-label={`Exact ${kind.nameIs}`} placeholder={`Exact ${kind.nameIs}, e.g. ${type === 'port' ? '22' : type === 'user' ? 'root' : 'openssl'}`} allowClear enterButton="Search" defaultValue={name} key={`${type}-${name}`} style={{ width: 420 }} onSearch={(v) => set(type, v.trim())} />
      </Flex>
      <Typography.Paragraph type="secondary">
        Matches the {kind.nameIs} exactly. Leave it empty to list every {kind.label.toLowerCase().replace(/s$/, '')} in the fleet.
      </Typography.Paragraph>
      <Card size="small">
        <AssetTable type={type} search={name} />
      </Card>
    </div>
  );
}
