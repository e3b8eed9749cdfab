/* Loading, empty and error states, always in words. */
import { Alert, Button, Empty, Flex, Spin } from 'antd';
import type { ReactNode } from 'react';
import { describeError } from '../api/client';

export function Loading({ what }: { what: string }) {
  return (
    <Flex align="center" justify="center" gap={12} style={{ padding: 48 }} role="status">
      <Spin />
      <span>Loading {what}…</span>
    </Flex>
  );
}

export function ErrorState({ error, retry, what }: { error: unknown; retry?: () => void; what?: string }) {
  return (
    <Alert
      type="error"
      showIcon
      role="alert"
      title={what ? `Could not load ${what}` : 'Something went wrong'}
      description={describeError(error)}
      action={
        retry && (
          <Button size="small" onClick={retry}>
            Try again
          </Button>
        )
      }
    />
  );
}

export function EmptyState({ children }: { children: ReactNode }) {
  return <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={children} />;
}

/* Shown above data that is still on screen while the latest refresh failed. */
export function StaleWarning({ error, retry }: { error: unknown; retry?: () => void }) {
  if (!error) return null;
  return (
    <Alert
      type="warning"
      showIcon
      banner
      title={`Not refreshed: ${describeError(error)}`}
      action={
        retry && (
          <Button size="small" onClick={retry}>
            Retry
          </Button>
        )
      }
      style={{ marginBottom: 12 }}
    />
  );
}
