/* The frame around every page: navigation, theme switch, who is logged in, log out. */
import {
  AlertOutlined,
  AppstoreOutlined,
  CheckCircleOutlined,
  DashboardOutlined,
  DatabaseOutlined,
  LogoutOutlined,
  MoonOutlined,
  SafetyOutlined,
  SettingOutlined,
  SunOutlined,
  ThunderboltOutlined,
} from '@ant-design/icons';
import { Button, Flex, Layout, Menu, Tag, Tooltip, Typography } from 'antd';
import { Suspense } from 'react';
import { Link, Outlet, useLocation, useNavigate } from 'react-router';
import { useApp } from '../app';
import { Loading } from './States';

const NAV = [
  { key: '/', icon: <DashboardOutlined />, label: 'Overview' },
  { key: '/alerts', icon: <AlertOutlined />, label: 'Alerts' },
  { key: '/hosts', icon: <AppstoreOutlined />, label: 'Hosts' },
  { key: '/assets', icon: <DatabaseOutlined />, label: 'Asset search' },
  { key: '/tasks', icon: <ThunderboltOutlined />, label: 'Tasks' },
  { key: '/rules', icon: <SafetyOutlined />, label: 'Rules' },
  { key: '/whitelist', icon: <CheckCircleOutlined />, label: 'Whitelist' },
  { key: '/system', icon: <SettingOutlined />, label: 'System' },
];

export function Shell() {
  const { session, client, setSession, theme, setTheme } = useApp();
  const loc = useLocation();
  const navigate = useNavigate();
  const active =
    NAV.filter((n) => n.key !== '/' && loc.pathname.startsWith(n.key)).map((n) => n.key)[0] ??
    (loc.pathname === '/' ? '/' : '');

  const logout = async () => {
    await client.logout();
    setSession(null);
    navigate('/login', { replace: true });
  };

  return (
    <Layout className="shell">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <Layout.Sider width={208} className="shell-sider" theme={theme}>
        <Link to="/" className="brand" aria-label="Rampart overview">
          <img src="/favicon.svg" alt="" width={26} height={26} />
          <span>Rampart</span>
        </Link>
        <nav aria-label="Main">
          <Menu
            mode="inline"
            theme={theme}
            selectedKeys={[active]}
            items={NAV.map((n) => ({ key: n.key, icon: n.icon, label: <Link to={n.key}>{n.label}</Link> }))}
          />
        </nav>
      </Layout.Sider>
      <Layout>
        <Layout.Header className="shell-header">
          <Flex justify="space-between" align="center" style={{ height: '100%' }}>
            <Typography.Text type="secondary">Cloud workload protection</Typography.Text>
            <Flex gap={12} align="center">
              <Tooltip title={theme === 'dark' ? 'Light theme' : 'Dark theme'}>
                <Button
                  type="text"
                  aria-label={theme === 'dark' ? 'Switch to the light theme' : 'Switch to the dark theme'}
                  icon={theme === 'dark' ? <SunOutlined /> : <MoonOutlined />}
                  onClick={() => setTheme(theme === 'dark' ? 'light' : 'dark')}
                />
              </Tooltip>
              <span data-testid="whoami">
                {session?.user.username} <Tag>{session?.user.role}</Tag>
              </span>
              <Button icon={<LogoutOutlined />} onClick={logout}>
                Log out
              </Button>
            </Flex>
          </Flex>
        </Layout.Header>
        <Layout.Content id="main" className="shell-content" tabIndex={-1}>
          <Suspense fallback={<Loading what="the page" />}>
            <Outlet />
          </Suspense>
        </Layout.Content>
      </Layout>
    </Layout>
  );
}
