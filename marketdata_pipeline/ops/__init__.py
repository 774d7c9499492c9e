"""Operations: the project's Dagster instance and run launcher, runs that heal themselves when
their process dies, the watch over `marketdata sync`, and the operator's view (status)."""
