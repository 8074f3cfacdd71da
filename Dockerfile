FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1

WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt

COPY . .
RUN DEBUG=true python manage.py collectstatic --no-input

RUN useradd --create-home --uid 1000 portal && mkdir -p /app/var && chown -R portal /app/var
USER portal

EXPOSE 8000
CMD ["gunicorn", "icp_portal.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3"]
