"""Live alerts: GraphQL subscriptions over graphql-transport-ws."""
