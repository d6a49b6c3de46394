"""The study viewer's test study and the host page that shows the viewer in a browser."""
