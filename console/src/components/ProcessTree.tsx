/* The process chain of an alert as a tree: oldest ancestor at the top, the alerting process
 * (bold) at the bottom. */
import { Tag, Tree, Typography } from 'antd';
import { useMemo } from 'react';
import type { ChainEntry } from '../api/types';
import { buildProcessTree, processLabel, treeKeys, type ProcessNode } from '../lib/chain';
import { EmptyState } from './States';

interface TreeItem {
  key: string;
  title: React.ReactNode;
  children: TreeItem[];
}

function toItems(n: ProcessNode): TreeItem {
  return {
    key: n.key,
    title: (
      <div className={`chain-node${n.subject ? ' chain-subject' : ''}`} data-testid="chain-node">
        {n.gapAbove && (
          <Tag color="warning" title="The parent named by this process is not in the chain">
            ancestor missing
          </Tag>
        )}
        <span>{processLabel(n)}</span>
        {n.subject && <Tag color="red" style={{ marginLeft: 8 }}>alerting process</Tag>}
        <span className="muted mono" style={{ marginLeft: 8 }}>
          {n.exe}
          {n.uid !== '' ? ` · uid ${n.uid}` : ''}
        </span>
        {n.argv && <span className="argv">{n.argv}</span>}
      </div>
    ),
    children: n.children.map(toItems),
  };
}

export function ProcessTree({ chain, event }: { chain?: ChainEntry[]; event?: Record<string, string> }) {
  const root = useMemo(() => buildProcessTree(chain, event), [chain, event]);
  if (!root)
    return <EmptyState>This alert carries no process chain (its event has no process, or the rule is about something else).</EmptyState>;
  return (
    <div data-testid="process-chain">
      <Typography.Paragraph type="secondary" style={{ marginBottom: 8 }}>
        Oldest ancestor first; the process that raised the alert is the last one.
      </Typography.Paragraph>
      <Tree showLine selectable={false} defaultExpandAll expandedKeys={treeKeys(root)} treeData={[toItems(root)]} />
    </div>
  );
}
