"""HTTP routes beside the Dash pages (video today). Plain FastAPI: no Dash imports."""
