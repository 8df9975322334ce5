"""Web pages, one module per area (see `milepost.web.urls`)."""
