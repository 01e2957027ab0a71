"""The router's nginx config: nginx/render.py renders nginx/nginx.conf.template."""
