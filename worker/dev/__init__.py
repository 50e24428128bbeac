"""Development tools, kept out of the production import graph: the provider sandbox and the
embedded Redis. Nothing outside `dev` packages imports them at module level."""
