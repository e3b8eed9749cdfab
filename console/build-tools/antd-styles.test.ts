import { describe, expect, it } from 'vitest';
import { topLevelRules } from './antd-styles';

describe('topLevelRules', () => {
  it('splits a stylesheet into top-level rules, keeping at-rule blocks whole', () => {
    const css = '.a{color:red}@media (max-width:10px){.b{x:1}.c{y:2}}.rp-dark{--ant-x:1}';
    expect(topLevelRules(css)).toEqual(['.a{color:red}', '@media (max-width:10px){.b{x:1}.c{y:2}}', '.rp-dark{--ant-x:1}']);
    expect(topLevelRules('')).toEqual([]);
  });
});
