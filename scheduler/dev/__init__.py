"""Development tools: the demo and its sample campaign. Production entry points never import
them; the CLI loads them only when `outreach demo` runs."""
