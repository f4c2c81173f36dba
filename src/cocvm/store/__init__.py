"""The catalog store: schema, migrations, and the queries behind describeImages, import and
export."""
