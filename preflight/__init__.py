"""Render a Pulumi Python program offline under mocks, and check it before it is deployed."""
