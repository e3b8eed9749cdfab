import { describe, expect, it } from 'vitest';
import { alertFiltersToApi, alertFiltersToSearch, hostFiltersToApi, hostFiltersToSearch, parseAlertFilters, parseHostFilters, withFilter } from './query';

describe('alert filters and the query string', () => {
  it('round-trips and omits defaults', () => {
    const f = parseAlertFilters('severity=high&status=new&rule_id=ssh_bruteforce&sort=severity&order=asc&page=3&size=50');
    expect(f).toEqual({ severity: 'high', status: 'new', rule_id: 'ssh_bruteforce', sort: 'severity', order: 'asc', page: 3, size: 50 });
    expect(parseAlertFilters(alertFiltersToSearch(f))).toEqual(f);
    expect(alertFiltersToSearch(parseAlertFilters(''))).toBe('');
  });

  it('drops values the API would refuse instead of sending them', () => {
    const f = parseAlertFilters('severity=urgent&status[$ne]=x&page=-1&size=100000&since=abc&sort=hostname&range=2y');
    expect(f).toEqual({ sort: 'detected_at', order: 'desc', page: 1, size: 20 });
    expect(parseAlertFilters('rule_id=' + 'x'.repeat(65))).not.toHaveProperty('rule_id');
  });

  it('becomes API parameters: paging to offset/limit, a relative range to since', () => {
    const now = 1_700_000_000_000;
    expect(alertFiltersToApi(parseAlertFilters('range=24h&page=2&size=10&hostname=web-01'), now)).toEqual({
      status: undefined, severity: undefined, rule_id: undefined, hostname: 'web-01', agent_id: undefined, assignee: undefined,
      since: now - 86_400_000, until: undefined, sort: 'detected_at', order: 'desc', limit: 10, offset: 10,
    });
    /* An explicit since wins over the range. */
    expect(alertFiltersToApi(parseAlertFilters('range=24h&since=5&until=9'), now)).toMatchObject({ since: 5, until: 9 });
  });

  it('a filter change goes back to page 1, paging keeps the filters', () => {
    const f = parseAlertFilters('severity=high&page=4');
    const g = withFilter(f, { status: 'new' });
    expect(g).toMatchObject({ severity: 'high', status: 'new' });
    expect(g.page).toBeUndefined();
    expect(withFilter(f, { page: 5 })).toMatchObject({ severity: 'high', page: 5 });
  });
});

describe('host filters', () => {
  it('round-trips', () => {
    const f = parseHostFilters('q=web&status=offline&tag=prod&os=debian&sort=last_seen&order=desc&page=2');
    expect(parseHostFilters(hostFiltersToSearch(f))).toEqual(f);
  });

  it('sorts by name ascending and by time descending unless told', () => {
    expect(hostFiltersToApi(parseHostFilters(''))).toMatchObject({ sort: 'hostname', order: 'asc', limit: 20, offset: 0 });
    expect(hostFiltersToApi(parseHostFilters('sort=last_seen'))).toMatchObject({ order: 'desc' });
  });

  it('with an OS filter asks for the largest page and pages itself', () => {
    expect(hostFiltersToApi(parseHostFilters('os=ubuntu&page=3'))).toMatchObject({ limit: 500, offset: 0 });
    expect(hostFiltersToApi(parseHostFilters('page=3&size=10'))).toMatchObject({ limit: 10, offset: 20 });
  });
});
