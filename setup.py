from setuptools import Extension, find_packages, setup

setup(
    name="marketdata_pipeline",
    version="0.1.0",
    description="Crypto market data collector: ccxt -> ArcticDB, orchestrated by Dagster.",
    packages=find_packages(exclude=["marketdata_pipeline_tests*"]),
    # TA-Lib's recursions as loops (indicators/formulas.py): built with the C compiler
    ext_modules=[
        Extension(
            "marketdata_pipeline.indicators._recursions",
            ["marketdata_pipeline/indicators/_recursions.c"],
            # No fused multiply-add: TA-Lib's rounding, on every processor
            extra_compile_args=["-O3", "-ffp-contract=off"],
        )
    ],
    python_requires=">=3.11",
    install_requires=[
        "dagster>=1.13,<1.14",
        "dagster-webserver>=1.13,<1.14",
        "ccxt>=4.5,<4.6",
        "polars>=1.30,<3",
        "pyarrow>=18",
        "numpy>=1.26",
        "duckdb>=1.3,<3",
        "arcticdb>=6.20,<7",
        "pandas>=2.2,<3",
        "pydantic>=2.7,<3",
        "pyyaml>=6",
        "ruamel.yaml>=0.18,<0.20",  # round-trip edits of the config (comments kept)
        "click>=8.1",
        "fastapi>=0.115,<1",
        "fastapi-offline>=1.7,<2",  # Swagger UI and ReDoc files for /docs without a CDN
        "uvicorn>=0.30,<1",
        "matplotlib>=3.8,<4",
        "dagster-postgres>=0.29,<0.30",  # the production instance's storage (deploy/dagster.yaml)
        "prometheus_client>=0.20,<1",  # /metrics of `marketdata serve` and `marketdata stream`
        "psycopg[binary]>=3.2,<4",  # the Postgres coordination backend
    ],
    extras_require={
        "test": [
            "pytest>=8",
            "pytest-timeout>=2.3",
            "pytest-xdist>=3.5,<4",  # `make test` runs the suite on both cores
            "ta-lib>=0.6,<0.9",
            "ruff>=0.8",
            "httpx>=0.27,<1",
            "dagster-docker>=0.29,<0.30",  # loads deploy/dagster.yaml's run launcher
            "moto[server]>=5,<6",  # an S3 endpoint for ArcticDB in the tests
            "playwright>=1.45,<2",  # drives Debian's chromium; never downloads a browser
        ],
        # The production image (deploy/Dockerfile): both run launchers of deploy/.
        "deploy": ["dagster-docker>=0.29,<0.30", "dagster-k8s>=0.29,<0.30"],
        "mutation": ["mutmut==3.8.1"],  # `make mutation`, not part of `make test`
    },
    entry_points={"console_scripts": ["marketdata=marketdata_pipeline.cli:main"]},
)
