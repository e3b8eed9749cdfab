/* Create a task: what to run, on which hosts (by id or by tag), with its parameters. */
import { App, Button, Form, Input, InputNumber, Modal, Radio, Select, Typography } from 'antd';
import { useState } from 'react';
import { useNavigate } from 'react-router';
import { describeError } from '../api/client';
import { useApi, useCan } from '../app';
import { ASSET_KINDS } from '../lib/assets';
import { TASK_LABEL } from '../lib/format';
import { usePoll } from '../lib/usePoll';

interface Values {
  type: string;
  target: 'hosts' | 'tags';
  hosts?: string[];
  tags?: string[];
  pid?: number;
  path?: string;
  types?: string[];
}

/* The API body for the form's values (exported for tests). */
export function taskBody(v: Values): { type: string; hosts?: string[]; tags?: string[]; params?: Record<string, unknown> } {
  const params: Record<string, unknown> = {};
  if (v.type === 'kill_process') params.pid = v.pid;
  if (v.type === 'quarantine_file' || v.type === 'scan') params.path = v.path;
  if (v.type === 'collect_now' && v.types?.length) params.types = v.types;
  return {
    type: v.type,
    ...(v.target === 'tags' ? { tags: v.tags ?? [] } : { hosts: v.hosts ?? [] }),
    ...(Object.keys(params).length ? { params } : {}),
  };
}

export function CreateTaskButton({ hosts, label = 'New task' }: { hosts?: string[]; label?: string }) {
  const can = useCan('analyst');
  const [open, setOpen] = useState(false);
  if (!can) return null;
  return (
    <>
      <Button type="primary" onClick={() => setOpen(true)}>
        {label}
      </Button>
      {open && <CreateTaskModal hosts={hosts} onClose={() => setOpen(false)} />}
    </>
  );
}

function CreateTaskModal({ hosts, onClose }: { hosts?: string[]; onClose: () => void }) {
  const api = useApi();
  const navigate = useNavigate();
  const { message } = App.useApp();
  const [form] = Form.useForm<Values>();
  const [busy, setBusy] = useState(false);
  const [search, setSearch] = useState('');
  const type = Form.useWatch('type', form);
  const target = Form.useWatch('target', form);
  const found = usePoll((s) => api.hosts({ hostname: search || undefined, limit: 50 }, s), [search]);

  const submit = async () => {
    const v = await form.validateFields();
    setBusy(true);
    try {
      const t = await api.createTask(taskBody(v));
      message.success(`Task created for ${t.hosts} host${t.hosts === 1 ? '' : 's'}`);
      onClose();
      navigate(`/tasks/${t.id}`);
    } catch (e) {
      message.error(describeError(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <Modal open title="New task" okText="Send task" onOk={submit} confirmLoading={busy} onCancel={onClose} width={560}>
      <Form<Values> form={form} layout="vertical" initialValues={{ type: 'collect_now', target: 'hosts', hosts }}>
        <Form.Item name="type" label="Task" rules={[{ required: true }]}>
          <Select aria-label="Task type" options={Object.entries(TASK_LABEL).map(([value, label]) => ({ value, label }))} />
        </Form.Item>
        <Form.Item name="target" label="Send to">
          <Radio.Group
            options={[
              { value: 'hosts', label: 'Chosen hosts' },
              { value: 'tags', label: 'Every host with a tag' },
            ]}
          />
        </Form.Item>
        {target === 'tags' ? (
          <Form.Item name="tags" label="Tags" rules={[{ required: true, message: 'Give at least one tag' }]}>
            <Select mode="tags" aria-label="Tags" placeholder="web, prod" tokenSeparators={[',', ' ']} />
          </Form.Item>
        ) : (
          <Form.Item name="hosts" label="Hosts" rules={[{ required: true, message: 'Choose at least one host' }]}>
            <Select
              mode="multiple"
              aria-label="Hosts"
              showSearch={{ filterOption: false, onSearch: setSearch }}
              placeholder="Type a host name"
              notFoundContent={found.loading ? 'Searching…' : 'No host starts with that'}
              options={(found.data?.items ?? []).map((h) => ({ value: h.agent_id, label: `${h.hostname || h.agent_id}${h.online ? '' : ' (offline)'}` }))}
            />
          </Form.Item>
        )}
        {type === 'kill_process' && (
          <Form.Item name="pid" label="Process id" rules={[{ required: true, type: 'integer', min: 1, max: 4194304, message: 'A process id, 1 to 4194304' }]}>
            <InputNumber style={{ width: '100%' }} />
          </Form.Item>
        )}
        {(type === 'quarantine_file' || type === 'scan') && (
          <Form.Item name="path" label={type === 'scan' ? 'Path to scan' : 'File to quarantine'} rules={[{ required: true, pattern: /^\//, message: 'An absolute path' }]}>
            <Input placeholder="/tmp/x" />
          </Form.Item>
        )}
        {type === 'collect_now' && (
          <Form.Item name="types" label="Asset types (empty: all)">
            <Select mode="multiple" aria-label="Asset types" options={ASSET_KINDS.map((k) => ({ value: k.type, label: k.label }))} />
          </Form.Item>
        )}
        <Typography.Text type="secondary">The task goes to each host's agent through the AgentCenter holding it; offline hosts get it when they reconnect, up to five attempts.</Typography.Text>
      </Form>
    </Modal>
  );
}
