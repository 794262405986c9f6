/** How startMode tells the gateway where the provider listens. */
export const PROVIDER_URL_ENV = 'ORCHESTRATOR_PROVIDER_URL';
