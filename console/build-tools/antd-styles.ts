/* Vite plugin: Ant Design's styles as one static stylesheet, made at build time.
 *
 * antd normally writes its CSS into <style> elements at run time (CSS-in-JS). The manager
 * serves the console with a Content-Security-Policy of default-src 'self', which refuses
 * inline styles, so the console runs antd in zero-runtime mode and imports this stylesheet
 * instead: every component the console uses, rendered once per theme (light and dark) in
 * Node, its CSS collected. Component rules are the same in both themes (they read CSS
 * variables); only the variable blocks differ, scoped by the theme's cssVar class
 * (THEME_CLASS below, which the app passes to ConfigProvider). */
import { extractStyle } from '@ant-design/static-style-extract';
import { ConfigProvider, theme } from 'antd';
import { createElement, type ReactElement } from 'react';
import type { Plugin } from 'vite';

import { THEME_CLASS } from '../src/themeClass';
const VIRTUAL = 'virtual:antd-styles.css';
const RESOLVED = '\0' + VIRTUAL;

/* The antd exports the console uses (keep in step with src/; a missing one shows up as an
 * unstyled component). */
const COMPONENTS = [
  'Alert', 'App', 'AutoComplete', 'Avatar', 'Badge', 'Breadcrumb', 'Button', 'Card', 'Checkbox',
  'Col', 'Collapse', 'DatePicker', 'Descriptions', 'Divider', 'Drawer', 'Dropdown', 'Empty',
  'Flex', 'Form', 'Input', 'InputNumber', 'Layout', 'List', 'Menu', 'Modal', 'Pagination', 'Popconfirm',
  'Popover', 'Progress', 'Radio', 'Result', 'Row', 'Segmented', 'Select', 'Skeleton', 'Space',
  'Spin', 'Statistic', 'Switch', 'Table', 'Tabs', 'Tag', 'Timeline', 'Tooltip', 'Tree',
  'Typography', 'message', 'notification',
];

/* Splits a stylesheet into its top-level rules (at-rules keep their nested blocks). */
export function topLevelRules(css: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < css.length; i++) {
    const ch = css[i];
    if (ch === '{') depth++;
    else if (ch === '}' && --depth === 0) {
      out.push(css.slice(start, i + 1));
      start = i + 1;
    }
  }
  return out;
}

function extract(key: string, algorithm: typeof theme.defaultAlgorithm): string {
  return extractStyle({
    includes: COMPONENTS,
    customTheme: (node: ReactElement) =>
      createElement(ConfigProvider, { theme: { cssVar: { key }, hashed: false, algorithm } }, node),
  });
}

export function antdStyles(): string {
  const light = topLevelRules(extract(THEME_CLASS.light, theme.defaultAlgorithm));
  const dark = topLevelRules(extract(THEME_CLASS.dark, theme.darkAlgorithm));
  const seen = new Set(light);
  /* Rules of internal nested providers carry ids from React's useId (".css-var-_R_..."),
   * which differ at run time: leave them out. */
  const darkOnly = dark.filter((r) => !seen.has(r) && !r.startsWith('.css-var-_'));
  return light.filter((r) => !r.startsWith('.css-var-_')).join('') + darkOnly.join('');
}

export function antdStylesPlugin(): Plugin {
  let css: string | undefined;
  return {
    name: 'rampart-antd-styles',
    resolveId(id) {
      return id === VIRTUAL ? RESOLVED : undefined;
    },
    load(id) {
      if (id !== RESOLVED) return undefined;
      css ??= antdStyles();
      return css;
    },
  };
}
