import { describe, expect, it } from 'vitest';
import { contentSecurityPolicy, contentSecurityPolicyDirectives } from './csp.ts';

describe('contentSecurityPolicy', () => {
  const production = contentSecurityPolicyDirectives('production');

  it('denies by default and allows scripts only from the app itself', () => {
    expect(production['default-src']).toEqual(["'none'"]);
    expect(production['script-src']).toEqual(["'self'"]);
    expect(production['object-src']).toEqual(["'none'"]);
    expect(production['base-uri']).toEqual(["'none'"]);
  });

  it('allows no inline code and no eval in the built app', () => {
    const policy = contentSecurityPolicy('production');
    expect(policy).not.toContain('unsafe-inline');
    expect(policy).not.toContain('unsafe-eval');
  });

  it('relaxes only what the dev server needs: inline styles and the HMR socket', () => {
    const development = contentSecurityPolicyDirectives('development');
    expect(development['script-src']).toEqual(["'self'"]);
    expect(development['style-src']).toContain("'unsafe-inline'");
    expect(development['connect-src']).toContain('ws://localhost:*');
    expect(contentSecurityPolicy('development')).not.toContain('unsafe-eval');
  });

  it('renders one directive per clause', () => {
    expect(contentSecurityPolicy('production').split('; ')).toContain("script-src 'self'");
  });
});
