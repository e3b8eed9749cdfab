import { describe, expect, it } from 'vitest';
import { asList, dailyTrend, formatAgo, formatBytes, formatTime, hostAddrs, osName, parsePrometheus, plural } from './format';

describe('formatting', () => {
  it('says how long ago in the largest fitting unit', () => {
    const now = 10_000_000_000;
    expect(formatAgo(now - 2_000, now)).toBe('just now');
    expect(formatAgo(now - 42_000, now)).toBe('42 s ago');
    expect(formatAgo(now - 5 * 60_000, now)).toBe('5 min ago');
    expect(formatAgo(now - 3 * 3_600_000, now)).toBe('3 h ago');
    expect(formatAgo(now - 4 * 86_400_000, now)).toBe('4 d ago');
    expect(formatAgo(now + 120_000, now)).toBe('in 2 min');
    expect(formatAgo(undefined, now)).toBe('never');
  });

  it('formats times and sizes, with a dash when unknown', () => {
    expect(formatTime(undefined)).toBe('–');
    expect(formatTime(new Date(2026, 0, 2, 3, 4, 5).getTime())).toBe('2026-01-02 03:04:05');
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes('25165824')).toBe('24 MiB');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes('n/a')).toBe('–');
  });

  it('reads lists and OS names from heartbeat facts', () => {
    expect(asList('10.0.0.1, 10.0.0.2,')).toEqual(['10.0.0.1', '10.0.0.2']);
    expect(asList(['a', ''])).toEqual(['a']);
    expect(osName({ platform: 'debian', platform_version: '12.8' })).toBe('debian 12.8');
    expect(osName({ platform_name: 'Ubuntu', platform: 'ubuntu' })).toBe('Ubuntu');
    expect(osName(undefined)).toBe('');
    expect(hostAddrs({ intranet_ipv4: [], facts: { intranet_ipv4: '10.0.0.7,10.0.0.8' } }, 'intranet_ipv4')).toEqual(['10.0.0.7', '10.0.0.8']);
    expect(hostAddrs({ intranet_ipv4: ['192.0.2.1'], facts: { intranet_ipv4: '10.0.0.7' } }, 'intranet_ipv4')).toEqual(['192.0.2.1']);
  });

  it('counts in words', () => {
    expect(plural(1, 'alert')).toBe('1 alert');
    expect(plural(1200, 'host')).toBe('1,200 hosts');
  });
});

describe('dailyTrend', () => {
  it('sums hourly counts into the last 7 local days, oldest first, empty days 0', () => {
    const now = new Date(2026, 10, 23, 15, 0, 0).getTime();
    const today = new Date(2026, 10, 23).getTime();
    const hour = 3_600_000;
    const t = dailyTrend(
      [
        { hour: today + 2 * hour, count: 3 },
        { hour: today + 9 * hour, count: 1 },
        { hour: today - 20 * hour, count: 5 }, /* yesterday */
        { hour: today - 6 * 86_400_000 + hour, count: 2 }, /* first day */
        { hour: today - 9 * 86_400_000, count: 99 }, /* before the window */
      ],
      now,
    );
    expect(t).toHaveLength(7);
    expect(t.map((d) => d.count)).toEqual([2, 0, 0, 0, 0, 5, 4]);
    expect(t[6].label).toBe('11-23');
    expect(t[0].label).toBe('11-17');
  });
});

describe('parsePrometheus', () => {
  it('reads samples with and without labels, skipping comments', () => {
    const text = '# HELP x y\n# TYPE x counter\nrampart_manager_ingested_total{kind="alert"} 12\nup 1\nbad line\nnan_metric NaN\n';
    expect(parsePrometheus(text)).toEqual([
      { name: 'rampart_manager_ingested_total', labels: 'kind="alert"', value: 12 },
      { name: 'up', labels: '', value: 1 },
    ]);
  });
});
