import helmet from '@fastify/helmet';
import fp from 'fastify-plugin';

/**
 * Security headers. The Content-Security-Policy allows scripts, styles, images and forms from
 * this server only, and no inline script: htmx is configured through a meta tag, not a script.
 */
export default fp(
  async (app) => {
    const https = app.config.baseUrl.startsWith('https://');
    await app.register(helmet, {
      contentSecurityPolicy: {
        useDefaults: false,
        directives: {
          defaultSrc: ["'self'"],
          scriptSrc: ["'self'"],
          styleSrc: ["'self'"],
          imgSrc: ["'self'", 'data:'],
          fontSrc: ["'self'"],
          connectSrc: ["'self'"],
          formAction: ["'self'"],
          frameAncestors: ["'none'"],
          baseUri: ["'self'"],
          objectSrc: ["'none'"],
          ...(https ? { upgradeInsecureRequests: [] } : {}),
        },
      },
      // HSTS only makes sense (and is only safe to send) when Carnet is served over https.
      strictTransportSecurity: https ? { maxAge: 31536000 } : false,
      crossOriginEmbedderPolicy: false,
      referrerPolicy: { policy: 'same-origin' },
    });
  },
  { name: 'carnet-security', dependencies: ['carnet-context'] },
);
