"""ISO 4217 currency codes and their minor units (digits after the decimal point)."""

MINOR_UNITS: dict[str, int] = {
    **dict.fromkeys(
        "AED ARS AUD BDT BGN BRL CAD CHF CNY COP CZK DKK EGP EUR GBP GHS HKD HUF IDR ILS INR "
        "KES MAD MXN MYR NGN NOK NZD PEN PHP PKR PLN QAR RON RSD RUB SAR SEK SGD THB TRY TWD "
        "UAH USD ZAR".split(),
        2,
    ),
    **dict.fromkeys("CLP ISK JPY KRW UGX VND XAF XOF".split(), 0),
    **dict.fromkeys("BHD JOD KWD OMR TND".split(), 3),
}
