/* The cssVar class of each theme: the build-time stylesheet (build-tools/antd-styles.ts)
 * scopes each theme's CSS variables under it, and ConfigProvider puts it on components. */
export const THEME_CLASS = { light: 'rp-light', dark: 'rp-dark' } as const;
