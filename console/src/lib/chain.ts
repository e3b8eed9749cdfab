/* An alert's process chain (the event's process first, then its ancestors, nearest first, as
 * the hub sends it) as a tree whose root is the oldest ancestor and whose deepest node is the
 * process that raised the alert. */
import type { ChainEntry } from '../api/types';

export interface ProcessNode {
  key: string;
  pid: string;
  ppid: string;
  exe: string;
  comm: string;
  argv: string;
  uid: string;
  /* The process the alert is about (the deepest node). */
  subject: boolean;
  /* Its parent is not the next entry of the chain: an ancestor is missing in between. */
  gapAbove: boolean;
  children: ProcessNode[];
}

const str = (v: unknown): string => (v === undefined || v === null ? '' : String(v));

/* event: the alert's event fields; they hold the subject's full argv and exe when the chain's
 * copies were cut at 255 bytes. */
export function buildProcessTree(
  chain: ChainEntry[] | undefined | null,
  event?: Record<string, string>,
): ProcessNode | null {
  if (!Array.isArray(chain) || chain.length === 0) return null;
  const seen = new Set<string>();
  const nodes: ProcessNode[] = [];
  for (const [i, e] of chain.entries()) {
    if (!e || typeof e !== 'object') continue;
    const pid = str(e.pid);
    /* A pid seen twice means a loop in what the sensor read: stop there. */
    if (pid && seen.has(pid)) break;
    if (pid) seen.add(pid);
    nodes.push({
      key: `${i}:${pid}`,
      pid,
      ppid: str(e.ppid),
      exe: str(e.exe),
      comm: str(e.comm),
      argv: str(e.argv),
      uid: str(e.uid),
      subject: i === 0,
      gapAbove: false,
      children: [],
    });
  }
  if (nodes.length === 0) return null;
  const subject = nodes[0];
  if (subject.subject && event) {
    if (event.argv && event.argv.length > subject.argv.length && event.argv.startsWith(subject.argv))
      subject.argv = event.argv;
    if (!subject.exe && event.exe) subject.exe = event.exe;
  }
  /* nodes[i + 1] is nodes[i]'s parent when the pids agree. */
  for (let i = 0; i + 1 < nodes.length; i++) {
    const child = nodes[i];
    const parent = nodes[i + 1];
    child.gapAbove = child.ppid !== '' && parent.pid !== '' && child.ppid !== parent.pid;
    parent.children = [child];
  }
  return nodes[nodes.length - 1];
}

/* Depth-first list of the tree's keys (to expand every node). */
export function treeKeys(root: ProcessNode | null): string[] {
  const out: string[] = [];
  for (let n: ProcessNode | undefined = root ?? undefined; n; n = n.children[0]) out.push(n.key);
  return out;
}

/* "bash (1234)": the name an analyst recognises first. */
export function processLabel(n: Pick<ProcessNode, 'comm' | 'exe' | 'pid'>): string {
  const name = n.comm || n.exe.split('/').pop() || '?';
  return n.pid ? `${name} (${n.pid})` : name;
}
