"""The image service: describeImages parameters, visibility, rendering and the default catalog."""
