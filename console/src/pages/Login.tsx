import { LockOutlined, UserOutlined } from '@ant-design/icons';
import { Alert, Button, Card, Form, Input, Typography } from 'antd';
import { useState } from 'react';
import { Navigate, useNavigate, useSearchParams } from 'react-router';
import { describeError } from '../api/client';
import { useApp } from '../app';

/* Only paths inside the console: a crafted ?next= cannot send the user elsewhere. */
export function safeNext(next: string | null): string {
  return next && next.startsWith('/') && !next.startsWith('//') && !next.startsWith('/\\') ? next : '/';
}

export default function Login() {
  const { client, session, setSession } = useApp();
  const [params] = useSearchParams();
  const navigate = useNavigate();
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const next = safeNext(params.get('next'));
  if (session) return <Navigate to={next} replace />;

  const submit = async (v: { username: string; password: string }) => {
    setBusy(true);
    setError(null);
    try {
      const s = await client.login(v.username, v.password);
      setSession(s);
      navigate(next, { replace: true });
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  const status = (error as { status?: number } | null)?.status;
  return (
    <main className="login-page">
      <Card className="login-card">
        <Typography.Title level={3} style={{ marginTop: 0 }}>
          <img src="/favicon.svg" alt="" width={28} height={28} style={{ verticalAlign: -5, marginRight: 8 }} />
          Rampart
        </Typography.Title>
        <Typography.Paragraph type="secondary">Log in to the security console.</Typography.Paragraph>
        {error ? (
          <Alert
            type="error"
            showIcon
            role="alert"
            style={{ marginBottom: 16 }}
            title={status === 401 ? 'Wrong user name or password.' : describeError(error)}
          />
        ) : null}
        <Form layout="vertical" onFinish={submit} requiredMark={false} disabled={busy}>
          <Form.Item label="User name" name="username" rules={[{ required: true, message: 'Enter your user name' }]}>
            <Input prefix={<UserOutlined />} autoComplete="username" autoFocus />
          </Form.Item>
          <Form.Item label="Password" name="password" rules={[{ required: true, message: 'Enter your password' }]}>
            <Input.Password prefix={<LockOutlined />} autoComplete="current-password" />
          </Form.Item>
          <Button type="primary" htmlType="submit" block loading={busy}>
            Log in
          </Button>
        </Form>
      </Card>
    </main>
  );
}
